/**
 * Starting the benchmark's child processes (the bot, the naive baseline, the Bedrock stand-in) and
 * talking to them over IPC. Children run on the same Node binary as the benchmark, without the
 * parent's exec arguments (a test runner's loaders must not leak into them).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ModelRequestTiming } from './bedrock-process.ts';
import type { ProcessStats } from './probe.ts';

export interface ChildHandle {
  readonly name: string;
  readonly process: ChildProcess;
  /** The `ready` message's details (port, url). */
  readonly ready: Record<string, unknown>;
  /** Sends `{type, seq}` and resolves with the reply that carries the same seq. */
  request<T = Record<string, unknown>>(type: string, timeoutMs?: number): Promise<T>;
  /** Log lines (stdout) at warn level or above, and the last stderr output. */
  readonly problems: string[];
  /** Number of stdout lines seen, by pino `msg` for the ones we care about. */
  readonly logCounts: Map<string, number>;
  stop(): Promise<void>;
}

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

/** V8's heap bounds in production (Dockerfile NODE_OPTIONS, npm start; a test keeps the three equal). */
export const PRODUCTION_NODE_FLAGS = ['--max-old-space-size=320', '--max-semi-space-size=32'] as const;

export const CHILD_FILES = {
  bot: here('./bot-process.ts'),
  naive: here('./naive-baseline.ts'),
  chatStream: here('./chat-stream-baseline.ts'),
  bedrock: here('./bedrock-process.ts'),
} as const;

let seqCounter = 0;

export async function startChild(
  name: string,
  file: string,
  env: Record<string, string>,
  execArgv: string[] = [],
  readyTimeoutMs = 20_000,
): Promise<ChildHandle> {
  const child = fork(file, [], {
    execPath: process.execPath,
    // --expose-gc only lets the probe collect once a window has been measured (see probe.ts).
    execArgv: ['--no-warnings', '--expose-gc', ...execArgv],
    // BENCH_NODE_OPTIONS tries V8 settings on the measured processes only (e.g. heap limits).
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ...(process.env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const problems: string[] = [];
  const logCounts = new Map<string, number>();
  let pending = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (data: string) => {
    pending += data;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (!line) continue;
      try {
        const parsed = JSON.parse(line) as { level?: string; msg?: string };
        if (parsed.msg) logCounts.set(parsed.msg, (logCounts.get(parsed.msg) ?? 0) + 1);
        if (parsed.level === 'warn' || parsed.level === 'error' || parsed.level === 'fatal') {
          if (problems.length < 200) problems.push(line.slice(0, 600));
        }
      } catch {
        if (problems.length < 200) problems.push(line.slice(0, 600));
      }
    }
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (data: string) => {
    stderr = (stderr + data).slice(-4000);
  });

  const replies = new Map<number, (message: Record<string, unknown>) => void>();
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within ${readyTimeoutMs} ms: ${stderr}`));
    }, readyTimeoutMs);
    child.on('message', (message: Record<string, unknown>) => {
      if (message.type === 'ready') {
        clearTimeout(timer);
        resolve(message);
        return;
      }
      const seq = message.seq as number | undefined;
      if (seq !== undefined) {
        replies.get(seq)?.(message);
        replies.delete(seq);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before it was ready: ${stderr || problems.join('\n')}`));
    });
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

  return {
    name,
    process: child,
    ready,
    problems,
    logCounts,
    request<T>(type: string, timeoutMs = 15_000) {
      seqCounter += 1;
      const seq = seqCounter;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          replies.delete(seq);
          reject(new Error(`${name} did not answer ${type} within ${timeoutMs} ms`));
        }, timeoutMs);
        replies.set(seq, (message) => {
          clearTimeout(timer);
          resolve(message as T);
        });
        child.send({ type, seq });
      });
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.send({ type: 'shutdown' });
      const killer = setTimeout(() => child.kill('SIGKILL'), 6_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

export async function openWindow(child: ChildHandle): Promise<void> {
  await child.request('window-start');
}

export async function closeWindow(child: ChildHandle): Promise<ProcessStats> {
  const reply = await child.request<{ stats: ProcessStats }>('window-end');
  return reply.stats;
}

export async function modelTimings(bedrock: ChildHandle): Promise<ModelRequestTiming[]> {
  const reply = await bedrock.request<{ timings: ModelRequestTiming[] }>('requests', 30_000);
  return reply.timings;
}
