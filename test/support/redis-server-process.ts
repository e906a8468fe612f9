/**
 * Throwaway redis-server processes for tests: a single server that can be stopped and restarted on
 * the same port (outage tests), and a small Redis Cluster. Nothing is persisted; all bind to 127.0.0.1.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { freePort } from './free-port.ts';

const execFileAsync = promisify(execFile);
const startTimeoutMs = 10_000;

export interface RedisServerProcess {
  readonly url: string;
  readonly port: number;
  /** Starts the server (again) and resolves once it answers PING. */
  start(): Promise<void>;
  /** Stops the server and resolves once the process has exited. */
  stop(): Promise<void>;
  /** stop() then start(), on the same port. */
  restart(): Promise<void>;
}

export interface RedisClusterProcesses {
  /** One node of the cluster; clients discover the others. */
  readonly url: string;
  readonly ports: number[];
  /** Kills every node and removes their files. */
  stop(): Promise<void>;
}

/** A redis-server on a free port, not yet started: call start(). */
export async function createRedisServer(): Promise<RedisServerProcess> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const server: RedisServerProcess = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async start() {
      if (child !== null) return;
      child = spawnRedisServer(port, []);
      await waitUntilAnswers(port, child);
    },
    async stop() {
      if (child === null) return;
      const stopping = child;
      child = null;
      await killAndWait(stopping);
    },
    async restart() {
      await server.stop();
      await server.start();
    },
  };
  return server;
}

/** A started redis-server on a free port. */
export async function startRedisServer(): Promise<RedisServerProcess> {
  const server = await createRedisServer();
  await server.start();
  return server;
}

/** Starts `masters` cluster-enabled servers, joins them into one cluster and waits until it serves. */
export async function startRedisCluster(
  options: { masters: number } = { masters: 3 },
): Promise<RedisClusterProcesses> {
  const dir = await mkdtemp(join(tmpdir(), 'redis-cluster-'));
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map(killAndWait));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    for (let i = 0; i < options.masters; i += 1) ports.push(await findFreeClusterPort(ports));
    for (const port of ports) {
      const child = spawnRedisServer(port, [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--dir',
        dir,
      ]);
      children.push(child);
    }
    await Promise.all(ports.map((port, i) => waitUntilAnswers(port, children[i] as ChildProcess)));
    await execFileAsync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((port) => `127.0.0.1:${port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { timeout: startTimeoutMs },
    );
    await Promise.all(ports.map(waitForClusterOk));
    return { url: `redis://127.0.0.1:${ports[0]}`, ports, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Deletes every key that starts with `prefix`, on every master of a cluster. */
export async function deleteKeysWithPrefix(client: Redis | Cluster, prefix: string): Promise<void> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 500);
      cursor = next;
      // One DEL per key: on a cluster, keys of one scan batch can sit in different slots.
      for (const key of keys) await node.del(key);
    } while (cursor !== '0');
  }
}

/** Deletes a test's keys on the Redis at `url` with a short-lived client of its own. */
export async function deleteRedisKeysWithPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  try {
    await deleteKeysWithPrefix(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

function spawnRedisServer(port: number, extraArgs: string[]): ChildProcess {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      ...extraArgs,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  // A test run that dies must not leave servers behind.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  return child;
}

async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

/** Resolves once the server on `port` answers PING; rejects if the process exits or takes too long. */
async function waitUntilAnswers(port: number, child: ChildProcess): Promise<void> {
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const deadlineMs = Date.now() + startTimeoutMs;
  while (Date.now() < deadlineMs) {
    if (child.exitCode !== null) {
      throw new Error(`redis-server on port ${port} exited with code ${child.exitCode}: ${stderr.trim()}`);
    }
    if (await answersPing('127.0.0.1', port, 200)) return;
    await sleep(20);
  }
  throw new Error(`redis-server on port ${port} did not answer PING within ${startTimeoutMs} ms`);
}

async function waitForClusterOk(port: number): Promise<void> {
  const deadlineMs = Date.now() + startTimeoutMs;
  while (Date.now() < deadlineMs) {
    const { stdout } = await execFileAsync('redis-cli', ['-p', String(port), 'cluster', 'info']);
    if (stdout.includes('cluster_state:ok')) return;
    await sleep(100);
  }
  throw new Error(`Redis cluster node on port ${port} did not reach cluster_state:ok`);
}

/** True when a Redis server at host:port answers an unauthenticated PING with PONG. */
export function answersPing(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    let reply = '';
    const finish = (answered: boolean): void => {
      socket.destroy();
      resolve(answered);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
  });
}

/** A free port whose cluster bus port (port + 10000) is free too, so below the ephemeral range. */
async function findFreeClusterPort(taken: number[]): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    if (taken.includes(port)) continue;
    if ((await isPortFree(port)) && (await isPortFree(port + 10_000))) return port;
  }
  throw new Error('No free port pair for a Redis cluster node');
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
