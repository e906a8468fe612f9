/**
 * Builds and starts the image the Dockerfile describes, without a Docker engine: every stage's
 * WORKDIR becomes a temporary directory, its COPY and RUN steps run there in order (RUN through
 * `sh -c`, with Node 24 first on the PATH, as in the `node:24` base image), and then the final
 * stage's CMD starts with the final stage's ENV and a minimal configuration pointed at a local
 * Slack stand-in. It passes when `/healthz` answers 200, the Dockerfile's own HEALTHCHECK command
 * succeeds, the runtime has no dev dependencies, and SIGTERM ends the process with exit code 0.
 *
 *   npm run verify:image            (needs the npm registry for the two `npm ci` steps)
 *   KEEP_TMP=1 npm run verify:image (leaves the stage directories for a look)
 *
 * The Dockerfile parser is exported for test/deploy/dockerfile.test.ts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/support/free-port.ts';

export interface DockerInstruction {
  keyword: string;
  /** The rest of the (joined) line after the keyword. */
  args: string;
  line: number;
}

export interface DockerStage {
  /** `FROM` image. */
  image: string;
  /** `AS` name, if any. */
  name: string | null;
  instructions: DockerInstruction[];
}

/** Splits a Dockerfile into stages of instructions (continuation lines joined, comments dropped). */
export function parseDockerfile(text: string): DockerStage[] {
  const stages: DockerStage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const start = i;
    let line = lines[i] ?? '';
    if (/^\s*(#|$)/.test(line)) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      i += 1;
      const next = lines[i] ?? '';
      if (/^\s*#/.test(next)) continue;
      line = `${line.replace(/\s*\\\s*$/, '')} ${next.trim()}`;
    }
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!match?.[1]) continue;
    const keyword = match[1].toUpperCase();
    const args = (match[2] ?? '').trim();
    if (keyword === 'FROM') {
      const from = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ image: from?.[1] ?? args, name: from?.[2] ?? null, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`Dockerfile line ${start + 1}: ${keyword} before any FROM`);
    stage.instructions.push({ keyword, args, line: start + 1 });
  }
  return stages;
}

/** `ENV A=1 B="two"` (or the legacy `ENV A 1`) as pairs. */
export function parseEnv(args: string): Record<string, string> {
  const pairs: Record<string, string> = {};
  if (!args.includes('=')) {
    const [name, ...rest] = args.split(/\s+/);
    if (name) pairs[name] = rest.join(' ');
    return pairs;
  }
  for (const match of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("([^"]*)"|'([^']*)'|\S*)/g)) {
    if (match[1]) pairs[match[1]] = match[3] ?? match[4] ?? match[2] ?? '';
  }
  return pairs;
}

/** A JSON-array (exec form) CMD as its arguments, or null for the shell form. */
export function execForm(args: string): string[] | null {
  if (!args.startsWith('[')) return null;
  const parsed = JSON.parse(args) as unknown;
  return Array.isArray(parsed) && parsed.every((part) => typeof part === 'string') ? parsed : null;
}

// ---------------------------------------------------------------------------------------------

interface StageRun {
  stage: DockerStage;
  /** The temporary directory standing in for the stage's root filesystem under WORKDIR. */
  dir: string;
  workdir: string;
  env: Record<string, string>;
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** What RUN steps see of this machine: how to reach the registry, nothing else. */
const passThrough = [
  'HOME',
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
];

function pick(env: NodeJS.ProcessEnv, names: string[]): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of names) {
    const value = env[name];
    if (value !== undefined) picked[name] = value;
  }
  return picked;
}

function log(message: string): void {
  process.stdout.write(`verify-image: ${message}\n`);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function run(command: string, cwd: string, env: Record<string, string>): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('sh', ['-c', command], { cwd, env, stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolvePromise() : reject(new Error(`"${command}" exited with ${code}`)),
    );
  });
}

/** Maps a path inside a stage's image (absolute, or relative to its WORKDIR) to the temp directory. */
function inStage(run: StageRun, path: string): string {
  if (!isAbsolute(path)) return join(run.dir, path);
  const fromWorkdir = relative(run.workdir, path);
  if (fromWorkdir.startsWith('..')) throw new Error(`${path} is outside WORKDIR ${run.workdir}`);
  return join(run.dir, fromWorkdir);
}

async function copyStep(args: string, target: StageRun, stages: Map<string, StageRun>): Promise<void> {
  const from = /--from=(\S+)/.exec(args)?.[1];
  const parts = args.replace(/--\S+/g, '').trim().split(/\s+/);
  const dest = parts.pop();
  if (!dest || parts.length === 0) throw new Error(`COPY ${args}: needs a source and a destination`);
  for (const source of parts) {
    let sourcePath: string;
    if (from) {
      const other = stages.get(from);
      if (!other) throw new Error(`COPY --from=${from}: no such stage`);
      sourcePath = inStage(other, source);
    } else {
      sourcePath = join(repoRoot, source);
    }
    const destPath = inStage(target, dest);
    const intoDirectory = dest.endsWith('/') || parts.length > 1;
    const sourceIsDirectory = (await stat(sourcePath)).isDirectory();
    const finalPath =
      intoDirectory && !sourceIsDirectory ? join(destPath, source.split('/').at(-1) ?? source) : destPath;
    await mkdir(dirname(finalPath), { recursive: true });
    await cp(sourcePath, finalPath, { recursive: true });
  }
}

async function waitForStatus(url: string, child: ChildProcess, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let status = 0;
  while (Date.now() < deadline && child.exitCode === null) {
    status = await fetch(url, { signal: AbortSignal.timeout(1_000) }).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return status;
    await new Promise((r) => setTimeout(r, 200));
  }
  return status;
}

/** Starts the Slack stand-in in a child process (it is TypeScript under test/) and returns its API URL. */
async function startFakeSlack(nodeBinary: string): Promise<{ apiUrl: string; child: ChildProcess }> {
  const fakeSlack = join(repoRoot, 'test/stand-ins/fake-slack.ts');
  const code = `
    const { FakeSlack } = await import(${JSON.stringify(fakeSlack)});
    const fake = await FakeSlack.start();
    process.stdout.write(fake.apiUrl + '\\n');
    process.stdin.resume();
    process.stdin.on('end', () => fake.stop().then(() => process.exit(0)));
  `;
  const child = spawn(nodeBinary, ['--input-type=module', '-e', code], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const apiUrl = await new Promise<string>((resolvePromise, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolvePromise(out.trim());
    });
    child.once('exit', (exitCode) => reject(new Error(`the Slack stand-in exited with ${exitCode}`)));
  });
  return { apiUrl, child };
}

async function main(): Promise<void> {
  const startedMs = Date.now();
  const dockerfile = await readFile(join(repoRoot, 'Dockerfile'), 'utf8');
  const stages = parseDockerfile(dockerfile);
  const final = stages.at(-1);
  if (!final) throw new Error('the Dockerfile has no stage');

  const nodeMajor = Number(process.versions.node.split('.')[0]);
  const imageMajor = Number(/^node:(\d+)/.exec(final.image)?.[1]);
  if (nodeMajor !== imageMajor) {
    throw new Error(`run this with Node ${imageMajor} (the image's base), not ${process.version}`);
  }

  const tmp = await mkdtemp(join(tmpdir(), 'verify-image-'));
  // The base image's node first on the PATH, and nothing of this repository's node_modules/.bin.
  const binDir = join(tmp, 'bin');
  await mkdir(binDir);
  await symlink(process.execPath, join(binDir, 'node'));
  const path = [
    binDir,
    ...(process.env.PATH ?? '').split(':').filter((p) => !p.includes('node_modules')),
  ].join(':');
  const baseEnv: Record<string, string> = {
    // The builder's network settings (proxy, extra CAs, ~/.npmrc), as `docker build` would use them.
    ...pick(process.env, passThrough),
    PATH: path,
    // A throwaway npm cache, so that `npm cache clean --force` in the Dockerfile cleans only it.
    npm_config_cache: join(tmp, 'npm-cache'),
    npm_config_update_notifier: 'false',
  };

  const runs = new Map<string, StageRun>();
  let slack: ChildProcess | undefined;
  let bot: ChildProcess | undefined;
  try {
    let last: StageRun | undefined;
    for (const [index, stage] of stages.entries()) {
      const dir = join(tmp, `stage-${index}-${stage.name ?? 'unnamed'}`);
      await mkdir(dir);
      const current: StageRun = { stage, dir, workdir: '/', env: { ...baseEnv } };
      log(`stage ${index} (${stage.name ?? 'unnamed'}) from ${stage.image}`);
      for (const step of stage.instructions) {
        switch (step.keyword) {
          case 'WORKDIR':
            current.workdir = step.args;
            break;
          case 'ENV':
            Object.assign(current.env, parseEnv(step.args));
            break;
          case 'COPY':
            log(`  COPY ${step.args}`);
            await copyStep(step.args, current, runs);
            break;
          case 'RUN':
            log(`  RUN ${step.args}`);
            await run(step.args, current.dir, current.env);
            break;
          case 'ADD':
            throw new Error(`Dockerfile line ${step.line}: ADD is not reproduced; use COPY`);
          default:
            break; // USER, EXPOSE, HEALTHCHECK, CMD, LABEL…: used below or metadata only
        }
      }
      if (stage.name) runs.set(stage.name, current);
      runs.set(String(index), current);
      last = current;
    }
    if (!last) throw new Error('no stage ran');

    for (const devOnly of ['typescript', 'vitest', '@biomejs/biome', 'node']) {
      if (await exists(join(last.dir, 'node_modules', devOnly))) {
        throw new Error(`the runtime stage has the dev dependency ${devOnly}: is --omit=dev missing?`);
      }
    }

    const cmd = final.instructions.filter((i) => i.keyword === 'CMD').at(-1);
    const argv = cmd ? execForm(cmd.args) : null;
    if (!argv?.[0]) throw new Error('the final stage needs an exec-form CMD (["node", …])');
    const healthcheck = final.instructions.find((i) => i.keyword === 'HEALTHCHECK');
    const healthCommand = healthcheck ? /\bCMD\s+(.*)$/.exec(healthcheck.args)?.[1] : undefined;
    if (!healthCommand) throw new Error('the final stage needs a HEALTHCHECK … CMD');

    const fake = await startFakeSlack(process.execPath);
    slack = fake.child;
    const port = await freePort();
    const runtimeEnv: Record<string, string> = {
      ...last.env,
      PORT: String(port),
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_SIGNING_SECRET: 'verify-image-signing-secret',
      SLACK_API_URL: fake.apiUrl,
      AWS_REGION: 'us-east-1',
    };
    log(`starting ${argv.join(' ')} on port ${port}`);
    const child = spawn(argv[0], argv.slice(1), { cwd: last.dir, env: runtimeEnv, stdio: 'inherit' });
    bot = child;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));

    const health = await waitForStatus(`http://127.0.0.1:${port}/healthz`, child, 30_000);
    if (health !== 200) throw new Error(`/healthz answered ${health || 'nothing'}`);
    log('/healthz answered 200');
    await run(healthCommand, last.dir, runtimeEnv);
    log('the HEALTHCHECK command succeeded');

    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), 30_000);
    });
    const code = await Promise.race([exited, timeout]);
    clearTimeout(timer);
    if (code !== 0) throw new Error(`after SIGTERM the process ended with ${code}, not 0`);
    bot = undefined;
    log(`SIGTERM: exited 0. The image build verified in ${Math.round((Date.now() - startedMs) / 1000)} s.`);
  } finally {
    bot?.kill('SIGKILL');
    slack?.stdin?.end();
    if (process.env.KEEP_TMP) log(`stage directories kept in ${tmp}`);
    else await rm(tmp, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    process.stderr.write(`verify-image: FAILED: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
