/**
 * The Dockerfile's structure, checked against the app: multi-stage on Node 24, production
 * dependencies only, a non-root user, a HEALTHCHECK on the app's /healthz, node run directly on the
 * compiled entry point, the app's port exposed. `npm run verify:image` (scripts/verify-image-build.ts)
 * goes further and runs the stages without Docker; it needs the npm registry, so it is not part of
 * `npm test`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PRODUCTION_NODE_FLAGS } from '../../bench/children.ts';
import { type DockerStage, execForm, parseDockerfile, parseEnv } from '../../scripts/verify-image-build.ts';
import { loadConfig } from '../../src/config.ts';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const stages = parseDockerfile(read('Dockerfile'));
const final = stages.at(-1) as DockerStage;
const args = (stage: DockerStage, keyword: string) =>
  stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
const defaultPort = loadConfig({
  SLACK_BOT_TOKEN: 'xoxb-x',
  SLACK_SIGNING_SECRET: 's',
  AWS_REGION: 'r',
}).port;

describe('the Dockerfile', () => {
  it('has a named build stage and a separate runtime stage, all on a Node 24 base', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages[0]?.name).toBeTruthy();
    for (const stage of stages) expect(stage.image).toMatch(/^node:24([.-]|$)/);
  });

  it('compiles with the same command as `npm run build` in the build stage', () => {
    const build = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.build;
    const buildRuns = stages.slice(0, -1).flatMap((stage) => args(stage, 'RUN'));
    expect(buildRuns.some((run) => run.includes(build ?? 'no build script'))).toBe(true);
  });

  it('installs only production dependencies in the runtime stage, from the lockfile, without scripts', () => {
    const installs = args(final, 'RUN').filter((run) => /\bnpm (ci|install|i)\b/.test(run));
    expect(installs).toHaveLength(1);
    expect(installs[0]).toMatch(/\bnpm ci\b/);
    expect(installs[0]).toContain('--omit=dev');
    expect(installs[0]).toContain('--ignore-scripts');
  });

  it('copies only the compiled output from the build stage into the runtime stage', () => {
    const fromBuild = args(final, 'COPY').filter((copy) => copy.includes('--from='));
    expect(fromBuild).toEqual([`--from=${stages[0]?.name} /app/dist ./dist`]);
    expect(args(final, 'COPY').some((copy) => /\bsrc\b/.test(copy))).toBe(false);
  });

  it('runs as a non-root user', () => {
    const user = args(final, 'USER').at(-1);
    expect(user).toBeDefined();
    expect(['root', '0', '0:0']).not.toContain(user);
  });

  it('starts node directly on dist/main.js, so SIGTERM reaches the bot', () => {
    const cmd = args(final, 'CMD').at(-1) ?? '';
    expect(execForm(cmd)).toEqual(['node', 'dist/main.js']);
    expect(args(final, 'ENTRYPOINT')).toEqual([]);
  });

  it('checks its health on /healthz at the port the app listens on', () => {
    const healthcheck = args(final, 'HEALTHCHECK');
    const env = Object.assign({}, ...args(final, 'ENV').map(parseEnv)) as Record<string, string>;
    expect(healthcheck).toHaveLength(1);
    expect(healthcheck[0]).toMatch(/\bCMD\b.*\/healthz/);
    expect(healthcheck[0]).toContain('process.env.PORT');
    expect(Number(env.PORT)).toBe(defaultPort);
    expect(args(final, 'EXPOSE')).toEqual([String(defaultPort)]);
    expect(env.NODE_ENV).toBe('production');
  });
});

describe('the Dockerfile parser', () => {
  it('joins continuation lines, drops comments and reads stage names', () => {
    const parsed = parseDockerfile(
      [
        '# comment',
        'FROM node:24 AS build',
        'RUN a \\',
        '  && b',
        'FROM node:24-slim',
        'CMD ["node", "x.js"]',
      ].join('\n'),
    );

    expect(parsed.map((s) => [s.image, s.name])).toEqual([
      ['node:24', 'build'],
      ['node:24-slim', null],
    ]);
    expect(parsed[0]?.instructions[0]?.args).toBe('a && b');
    expect(execForm(parsed[1]?.instructions[0]?.args ?? '')).toEqual(['node', 'x.js']);
  });
});

describe('the heap bounds', () => {
  it('are the same in the image, in npm start and in the benchmark', () => {
    const dockerfile = read('Dockerfile');
    const pkg = JSON.parse(read('package.json'));
    const runtime = parseDockerfile(dockerfile).at(-1);
    const env = Object.assign(
      {},
      ...(runtime?.instructions ?? []).filter((i) => i.keyword === 'ENV').map((i) => parseEnv(i.args)),
    ) as Record<string, string>;
    const inImage = (env.NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean);

    expect(inImage).toEqual([...PRODUCTION_NODE_FLAGS]);
    expect(pkg.scripts.start).toBe(`node ${inImage.join(' ')} dist/main.js`);
  });
});
