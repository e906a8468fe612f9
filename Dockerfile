# syntax=docker/dockerfile:1
# Build stage: full install, compile TypeScript to dist/ (with the Lua scripts the code reads).
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts/copy-build-assets.ts ./scripts/
RUN npx tsc -p tsconfig.build.json && node scripts/copy-build-assets.ts

# Runtime stage: production dependencies only, non-root, node run directly (npm swallows SIGTERM).
FROM node:24-bookworm-slim AS runtime
# V8's heap bounds, the same on any host: a bounded old space makes V8 collect sooner, and a fixed
# young generation (V8 sizes it from the host's memory otherwise: 128 MB on a large host, a few MB
# in a small pod) keeps 500 concurrent answers under 300 MB RSS without more GC work (README,
# Performance). npm start and the benchmark use the same flags.
ENV NODE_ENV=production PORT=3000 NODE_OPTIONS="--max-old-space-size=320 --max-semi-space-size=32"
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/main.js"]
