/**
 * Measures the process it runs in (the bot, or the naive baseline) over a window the benchmark
 * opens and closes over IPC: event-loop lag (`monitorEventLoopDelay`), CPU time
 * (`process.cpuUsage`), peak RSS (sampled) and whatever the process adds (store call counts).
 *
 * Parent → child: `{type:'window-start', seq}`, `{type:'window-end', seq}`, `{type:'shutdown'}`.
 * Child → parent: `{type:'ready', port}`, then `{type:'window', seq, stats}` after each window-end.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** The timer interval of the lag histogram; it is subtracted from every reading. */
export const LAG_RESOLUTION_MS = 5;

export interface ProcessStats {
  eventLoopLagMs: { p50: number; p99: number; max: number; mean: number };
  cpuUserMs: number;
  cpuSystemMs: number;
  rssPeakMb: number;
  /** RSS when the window opened (the warmed-up, idle process). */
  rssStartMb: number;
  rssEndMb: number;
  heapUsedEndMb: number;
  /** Peak of V8's heap in use, sampled with RSS. */
  heapUsedPeakMb: number;
  /** After a full garbage collection at the window's end: what the process really keeps. */
  heapUsedAfterGcMb: number | null;
  rssAfterGcMb: number | null;
  windowMs: number;
  extra: Record<string, unknown>;
}

export interface ProbeHooks {
  /** Extra figures, reset at each window start. */
  extra?: { reset(): void; read(): Record<string, unknown> | Promise<Record<string, unknown>> };
  /** Stops the process's work (graceful shutdown) before it exits. */
  shutdown?: () => Promise<void>;
}

const toMb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

export function installProbe(hooks: ProbeHooks = {}): { ready(details: Record<string, unknown>): void } {
  const histogram = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  histogram.enable();
  let cpuAtStart = process.cpuUsage();
  let startedAtMs = performance.now();
  let rssPeak = process.memoryUsage.rss();
  let rssStart = rssPeak;
  let heapPeak = process.memoryUsage().heapUsed;
  const sampler = setInterval(() => {
    const memory = process.memoryUsage();
    rssPeak = Math.max(rssPeak, memory.rss);
    heapPeak = Math.max(heapPeak, memory.heapUsed);
  }, 100);
  sampler.unref();

  const lag = (nanoseconds: number) =>
    Math.round(Math.max(0, nanoseconds / 1e6 - LAG_RESOLUTION_MS) * 100) / 100;

  process.on('message', async (message: { type?: string; seq?: number }) => {
    if (message.type === 'window-start') {
      histogram.reset();
      cpuAtStart = process.cpuUsage();
      startedAtMs = performance.now();
      rssPeak = process.memoryUsage.rss();
      rssStart = rssPeak;
      heapPeak = process.memoryUsage().heapUsed;
      hooks.extra?.reset();
      process.send?.({ type: 'window-started', seq: message.seq });
    } else if (message.type === 'window-end') {
      const cpu = process.cpuUsage(cpuAtStart);
      const memory = process.memoryUsage();
      rssPeak = Math.max(rssPeak, memory.rss);
      const count = histogram.count;
      const extra = (await hooks.extra?.read()) ?? {};
      // Measured last, so that the collection cannot disturb the figures above.
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      const afterGc = gc ? process.memoryUsage() : null;
      const stats: ProcessStats = {
        eventLoopLagMs: {
          p50: count ? lag(histogram.percentile(50)) : 0,
          p99: count ? lag(histogram.percentile(99)) : 0,
          max: count ? lag(histogram.max) : 0,
          mean: count ? lag(histogram.mean) : 0,
        },
        cpuUserMs: cpu.user / 1000,
        cpuSystemMs: cpu.system / 1000,
        rssPeakMb: toMb(rssPeak),
        rssStartMb: toMb(rssStart),
        rssEndMb: toMb(memory.rss),
        heapUsedEndMb: toMb(memory.heapUsed),
        heapUsedPeakMb: toMb(Math.max(heapPeak, memory.heapUsed)),
        heapUsedAfterGcMb: afterGc ? toMb(afterGc.heapUsed) : null,
        rssAfterGcMb: afterGc ? toMb(afterGc.rss) : null,
        windowMs: performance.now() - startedAtMs,
        extra,
      };
      process.send?.({ type: 'window', seq: message.seq, stats });
    } else if (message.type === 'shutdown') {
      const done = () => process.exit(0);
      const shutdown = hooks.shutdown ? hooks.shutdown() : Promise.resolve();
      shutdown.then(done, done);
      setTimeout(done, 5_000).unref();
    }
  });
  process.on('disconnect', () => process.exit(0));

  return {
    ready(details) {
      process.send?.({ type: 'ready', ...details });
    },
  };
}
