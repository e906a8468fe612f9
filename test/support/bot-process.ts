/**
 * The bot as a process: `node src/main.ts` (what `npm start` runs after its build) in an empty
 * temporary directory, so that a developer's `.env` cannot leak in, with exactly the environment
 * given (plus PATH and HOME).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const mainPath = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

export interface BotProcess {
  child: ChildProcess;
  /** What it wrote to stdout (its JSON log lines). */
  stdout: () => string;
  /** stdout, then stderr. */
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Kills it if it still runs and removes its directory. */
  cleanup: () => Promise<void>;
}

export interface SpawnOptions {
  /** Node options before the script, e.g. `--import` of a test's fault injector. */
  nodeArgs?: string[];
}

export async function spawnBot(env: Record<string, string>, options: SpawnOptions = {}): Promise<BotProcess> {
  const cwd = await mkdtemp(join(tmpdir(), 'bot-process-'));
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), mainPath], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: cwd, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    child,
    stdout: () => stdout,
    output: () => `${stdout}\n${stderr}`,
    exited,
    async cleanup() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      await rm(cwd, { recursive: true, force: true });
    },
  };
}

/** Polls `url` until it answers 200; fails at once if the bot exits, or after `timeoutMs`. */
export async function waitUntilHealthy(url: string, bot: BotProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (bot.child.exitCode !== null) throw new Error(`the bot exited early:\n${bot.output()}`);
    const status = await fetch(url, { signal: AbortSignal.timeout(1_000) }).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the bot did not answer ${url} within ${timeoutMs} ms:\n${bot.output()}`);
}
