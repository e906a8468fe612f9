/**
 * `npm run bench`: the bot against the Slack and Bedrock stand-ins, scenario by scenario, beside a
 * naive baseline on the same stand-ins; figures on stdout and in bench/results/.
 *
 *   npm run bench                          every scenario (about 6½ minutes on 2 cores)
 *   npm run bench -- --quick               every scenario, shrunk (about two and a half minutes)
 *   npm run bench -- --scenario burst      one scenario group (repeatable; or a name like concurrency-250)
 *   npm run bench -- --scenario prompt-caching   input tokens billed per turn in a 30-turn thread, with and without caching
 *   npm run bench -- --no-naive            the bot only
 *   npm run bench -- --env STREAM_FLUSH_INTERVAL_MS=500   a bot setting for every run
 *   npm run bench -- --raw                 per-answer figures in the JSON too
 *   npm run bench -- --out <dir>           results elsewhere (default bench/results)
 *   npm run bench -- --profile             V8 CPU profiles of the bot and the baseline (in a temp dir)
 *   npm run bench -- --env BENCH_TRACE=1   per-question step timestamps from the bot, in the JSON (with --raw)
 *   npm run bench -- --warm-up 2           answers each process serves before it is measured (default 100)
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type ChartPoint, concurrencyChart } from './chart.ts';
import { fmt, fmtRatio, markdownTable, ratio, textTable } from './metrics.ts';
import { DEFAULT_WARM_UP_ANSWERS, type RunResult, runScenario, startContext } from './runner.ts';
import { buildScenarios, SCENARIO_NAMES, type ScenarioDef, type ScenarioGroup } from './scenarios.ts';
import { evaluateTargets, type ScenarioResults, type TargetCheck } from './targets.ts';

interface Row {
  label: string;
  value: (r: RunResult) => number | null;
  digits?: number;
  /** Text instead of a number (no ratio). */
  text?: (r: RunResult) => string;
  /** Put before the number, e.g. '≥' for a lower bound. */
  prefix?: (r: RunResult) => string;
}

const ROWS: Row[] = [
  {
    label: 'answers complete & exact',
    value: (r) => r.complete,
    text: (r) => `${r.complete}/${r.questions}`,
  },
  {
    label: 'answers streamed natively & exact',
    value: (r) => r.nativeExact,
    text: (r) => `${r.nativeExact}/${r.questions}`,
  },
  {
    label: 'answers posted whole in one write',
    value: (r) => r.postedWhole,
    text: (r) => `${r.postedWhole}/${r.questions}`,
  },
  { label: 'ack p50 (ms)', value: (r) => r.ackMs.p50 },
  { label: 'ack p99 (ms)', value: (r) => r.ackMs.p99 },
  { label: 'ack max (ms)', value: (r) => r.ackMs.max },
  { label: 'overhead to first text p50 (ms)', value: (r) => r.overheadMs.p50 },
  { label: 'overhead to first text p99 (ms)', value: (r) => r.overheadMs.p99 },
  { label: '  event → app got it p50 (ms)', value: (r) => r.deliveryMs.p50 },
  { label: '  event → app got it p99 (ms)', value: (r) => r.deliveryMs.p99 },
  { label: '  from app got it p50 (ms)', value: (r) => r.appOverheadMs.p50 },
  { label: '  from app got it p99 (ms)', value: (r) => r.appOverheadMs.p99 },
  {
    label: "model's first token → first text p90 (ms)",
    value: (r) => r.firstTextAfterTokenMs.p90,
    digits: 0,
  },
  { label: "complete answer beyond the model's time p90 (ms)", value: (r) => r.beyondModelMs.p90, digits: 0 },
  { label: 'last token → final write p50 (ms)', value: (r) => r.finalDelayMs.p50 },
  { label: 'last token → final write p99 (ms)', value: (r) => r.finalDelayMs.p99 },
  { label: 'event → complete answer p50 (ms)', value: (r) => r.completionMs.p50, digits: 0 },
  { label: 'event → complete answer p90 (ms)', value: (r) => r.completionMs.p90, digits: 0 },
  { label: 'event → complete answer p99 (ms)', value: (r) => r.completionMs.p99, digits: 0 },
  {
    label: 'Slack writes per answer',
    value: (r) => r.writesPerAnswer,
    digits: 2,
    prefix: (r) => (r.writesLowerBound ? '≥' : ''),
  },
  { label: '  seen before the cut-off', value: (r) => r.writesSeenPerAnswer, digits: 2 },
  { label: 'Slack writes per answer, max', value: (r) => r.writesPerAnswerMax, digits: 2 },
  { label: 'answers over 2 + duration writes', value: (r) => r.writeBudgetExceeded, digits: 0 },
  { label: '429s seen', value: (r) => r.rateLimited, digits: 0 },
  { label: 'store round trips per turn', value: (r) => r.storeRoundTripsPerTurn, digits: 2 },
  { label: 'write-budget round trips per turn', value: (r) => r.budgetRoundTripsPerTurn, digits: 2 },
  { label: 'event-loop lag p50 (ms)', value: (r) => r.process.eventLoopLagMs.p50, digits: 2 },
  { label: 'event-loop lag p99 (ms)', value: (r) => r.process.eventLoopLagMs.p99, digits: 2 },
  { label: 'event-loop lag max (ms)', value: (r) => r.process.eventLoopLagMs.max, digits: 1 },
  { label: 'RSS peak (MB)', value: (r) => r.process.rssPeakMb },
  { label: 'RSS at start, warmed up (MB)', value: (r) => r.process.rssStartMb },
  { label: 'JS heap peak (MB)', value: (r) => r.process.heapUsedPeakMb },
  { label: 'JS heap after the run + full GC (MB)', value: (r) => r.process.heapUsedAfterGcMb },
  { label: 'CPU per answer (ms)', value: (r) => r.cpuMsPerAnswer },
  { label: 'wall time (s)', value: (r) => r.wallMs / 1000 },
];

function scenarioTable(result: ScenarioResults): string {
  const header = [
    '',
    'bot',
    ...(result.naive ? ['naive', 'bot/naive'] : []),
    ...(result.chatStream ? ['chatStream', 'bot/chatStream'] : []),
  ];
  const rows = ROWS.map((row) => {
    const cell = (r: RunResult) =>
      row.text ? row.text(r) : `${row.prefix?.(r) ?? ''}${fmt(row.value(r), row.digits ?? 1)}`;
    const versus = (baseline: RunResult) => {
      const r = row.text ? null : ratio(row.value(result.bot), row.value(baseline));
      const bound = row.prefix?.(baseline) === '≥' ? '≤' : '';
      return [cell(baseline), r === null ? '' : `${bound}${fmtRatio(r)}`];
    };
    return [
      row.label,
      cell(result.bot),
      ...(result.naive ? versus(result.naive) : []),
      ...(result.chatStream ? versus(result.chatStream) : []),
    ];
  });
  return textTable(header, rows);
}

function withNaive(result: ScenarioResults, pick: (r: RunResult) => number | null, digits = 1): string {
  const bot = fmt(pick(result.bot), digits);
  if (!result.naive) return bot;
  const r = ratio(pick(result.bot), pick(result.naive));
  return `${bot} (${fmt(pick(result.naive), digits)}${r === null ? '' : `, ${fmtRatio(r)}`})`;
}

function summaryRows(results: Map<string, ScenarioResults>): { header: string[]; rows: string[][] } {
  const header = [
    'scenario',
    'complete & exact',
    'ack p50 / p99 ms',
    'overhead p50 / p99 ms',
    'from receipt p50 / p99 ms',
    'last token → final p99 ms',
    'writes / answer',
    '429s',
    'store RT / turn',
    'lag p99 ms',
    'RSS MB',
    'CPU ms / answer',
  ];
  const rows: string[][] = [];
  for (const [name, result] of results) {
    const b = result.bot;
    const n = result.naive;
    rows.push([
      name,
      `${b.complete}/${b.questions}${n ? ` (${n.complete}/${n.questions})` : ''}`,
      `${fmt(b.ackMs.p50)} / ${fmt(b.ackMs.p99)}${n ? ` (${fmt(n.ackMs.p50)} / ${fmt(n.ackMs.p99)})` : ''}`,
      `${fmt(b.overheadMs.p50)} / ${fmt(b.overheadMs.p99)}${n ? ` (${fmt(n.overheadMs.p50)} / ${fmt(n.overheadMs.p99)})` : ''}`,
      `${fmt(b.appOverheadMs.p50)} / ${fmt(b.appOverheadMs.p99)}${n ? ` (${fmt(n.appOverheadMs.p50)} / ${fmt(n.appOverheadMs.p99)})` : ''}`,
      withNaive(result, (r) => r.finalDelayMs.p99, 0),
      n?.writesLowerBound
        ? `${fmt(b.writesPerAnswer, 2)} (≥${fmt(n.writesPerAnswer, 2)}, ≤${fmtRatio(ratio(b.writesPerAnswer, n.writesPerAnswer))})`
        : withNaive(result, (r) => r.writesPerAnswer, 2),
      withNaive(result, (r) => r.rateLimited, 0),
      `${fmt(b.storeRoundTripsPerTurn, 2)}${b.budgetRoundTripsPerTurn ? ` + ${fmt(b.budgetRoundTripsPerTurn, 2)}` : ''}`,
      withNaive(result, (r) => r.process.eventLoopLagMs.p99, 1),
      withNaive(result, (r) => r.process.rssPeakMb, 0),
      withNaive(result, (r) => r.cpuMsPerAnswer, 1),
    ]);
  }
  return { header, rows };
}

function machine() {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverageAtStart: loadavg().map((v) => Math.round(v * 100) / 100),
    date: new Date().toISOString(),
  };
}

/** Drops per-answer and per-event data (kept with --raw). */
function stripAnswers(result: RunResult | null, raw: boolean) {
  if (!result) return null;
  if (raw) return result;
  const { answers: _answers, process: stats, ...rest } = result;
  const { receipts: _receipts, trace: _trace, ...extra } = stats.extra;
  return { ...rest, process: { ...stats, extra } };
}

function describe(def: ScenarioDef) {
  return {
    name: def.name,
    title: def.title,
    notes: def.notes,
    questions: def.questions.length,
    rateLimits: def.rateLimits,
    botEnv: def.botEnv,
    answer: def.questions[0]?.spec,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      scenario: { type: 'string', multiple: true },
      'no-naive': { type: 'boolean', default: false },
      env: { type: 'string', multiple: true },
      raw: { type: 'boolean', default: false },
      out: { type: 'string' },
      profile: { type: 'boolean', default: false },
      'warm-up': { type: 'string', default: String(DEFAULT_WARM_UP_ANSWERS) },
    },
  });
  const quick = values.quick ?? false;
  const wanted = (values.scenario ?? []).flatMap((s) => s.split(',')).filter(Boolean);
  // A cost figure, not a latency one: its own script (in-process, about a second).
  if (wanted.includes('prompt-caching')) {
    const { promptCachingMain } = await import('./prompt-caching.ts');
    await promptCachingMain([]);
    wanted.splice(wanted.indexOf('prompt-caching'), 1);
    if (wanted.length === 0) return;
  }
  const groups = SCENARIO_NAMES.filter(
    (group) => wanted.length === 0 || wanted.some((w) => w === group || w.startsWith(`${group}-`)),
  );
  const unknown = wanted.filter((w) => !SCENARIO_NAMES.some((g) => w === g || w.startsWith(`${g}-`)));
  if (unknown.length > 0) {
    throw new Error(`unknown scenario ${unknown.join(', ')}; choose from ${SCENARIO_NAMES.join(', ')}`);
  }
  const levels = wanted.filter((w) => /^concurrency-\d+$/.test(w)).map((w) => Number(w.split('-')[1]));
  const scenarios = buildScenarios(groups as ScenarioGroup[], quick, levels.length > 0 ? levels : undefined);
  const botEnv = Object.fromEntries(
    (values.env ?? []).map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new Error(`--env wants KEY=VALUE, got ${pair}`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
  const outDir = values.out ?? fileURLToPath(new URL('./results/', import.meta.url));
  await mkdir(outDir, { recursive: true });
  const runNaive = !values['no-naive'];
  const info = machine();

  const say = (line: string) => process.stdout.write(`${line}\n`);
  // Profiles are large: kept out of the results directory (and of git).
  const profileDir = values.profile ? await mkdtemp(join(tmpdir(), 'bench-profiles-')) : null;
  if (profileDir) say(`CPU profiles: ${profileDir}`);
  say(`Benchmark${quick ? ' (quick)' : ''}: ${scenarios.map((s) => s.name).join(', ')}`);
  say(
    `Machine: ${info.cpu}, ${info.cores} cores, ${info.memoryGb} GB, Node ${info.node}, load ${info.loadAverageAtStart.join(' ')}`,
  );
  const startedAt = performance.now();
  const warmUpAnswers = Number(values['warm-up']);
  if (!Number.isInteger(warmUpAnswers) || warmUpAnswers < 1)
    throw new Error(`--warm-up wants a whole number of answers, got ${values['warm-up']}`);
  const ctx = await startContext({
    botEnv,
    warmUpAnswers,
    log: say,
    ...(profileDir ? { profileDir } : {}),
  });
  const results = new Map<string, ScenarioResults>();
  try {
    for (const def of scenarios) {
      say('');
      say(`== ${def.name}: ${def.title}`);
      say(`   ${def.notes}`);
      const t0 = performance.now();
      const bot = await runScenario(def, 'bot', ctx);
      const naive = runNaive && def.naive ? await runScenario(def, 'naive', ctx) : null;
      const chatStream = runNaive && def.chatStream ? await runScenario(def, 'chatStream', ctx) : null;
      const result: ScenarioResults = { bot, naive, chatStream };
      results.set(def.name, result);
      say(scenarioTable(result));
      for (const r of [bot, naive, chatStream]) {
        if (!r) continue;
        if (r.complete < r.questions)
          say(
            `   ${r.target}: unfinished at the cut-off: ${r.incompleteIds.slice(0, 8).join(', ')}${r.incompleteIds.length > 8 ? ', …' : ''}`,
          );
        if (r.unexpectedMessages > 0)
          say(
            `   ${r.target}: ${r.unexpectedMessages} unexpected messages, e.g. ${JSON.stringify(r.unexpectedSamples[0] ?? '')}`,
          );
        if (r.inconsistentFirstText > 0)
          say(
            `   ${r.target}: ${r.inconsistentFirstText} answers first showed text that is not in the final answer`,
          );
        const limited = Object.entries(r.rateLimitedByMethod);
        if (limited.length > 0)
          say(`   ${r.target}: 429s by method: ${limited.map(([m, n]) => `${m} ${n}`).join(', ')}`);
        if (r.deliveriesFailed > 0)
          say(`   ${r.target}: ${r.deliveriesFailed} deliveries failed or were not acknowledged with 200`);
        for (const problem of r.logProblems.slice(0, 3)) say(`   ${r.target} log: ${problem.slice(0, 300)}`);
      }
      say(`   (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      await writeFile(
        join(outDir, `${def.name}.json`),
        `${JSON.stringify(
          {
            scenario: describe(def),
            machine: info,
            quick,
            bot: stripAnswers(bot, values.raw ?? false),
            naive: stripAnswers(naive, values.raw ?? false),
            chatStream: stripAnswers(chatStream, values.raw ?? false),
          },
          null,
          2,
        )}\n`,
      );
    }
  } finally {
    await ctx.stop();
  }

  const checks = evaluateTargets(results);
  const { header, rows } = summaryRows(results);
  say('');
  say('== Summary (bot; naive baseline and bot/naive ratio in parentheses)');
  say(textTable(header, rows));
  say('');
  say('== Targets (issues 6 and 12)');
  say(
    textTable(
      ['', 'target', 'scenario', 'figures'],
      checks.map((c) => [c.verdict, c.target, c.scenario, c.detail]),
    ),
  );

  const chartPoints: ChartPoint[] = [...results.entries()]
    .filter(([name]) => name.startsWith('concurrency-'))
    .map(([, r]) => ({
      concurrency: Number(r.bot.scenario.split('-')[1]),
      bot: {
        overheadP50: r.bot.overheadMs.p50,
        overheadP99: r.bot.overheadMs.p99,
        ownOverheadP99: r.bot.appOverheadMs.p99,
        lagP99: r.bot.process.eventLoopLagMs.p99,
      },
      naive: r.naive
        ? {
            overheadP50: r.naive.overheadMs.p50,
            overheadP99: r.naive.overheadMs.p99,
            lagP99: r.naive.process.eventLoopLagMs.p99,
          }
        : null,
    }));
  if (chartPoints.length > 0) {
    const subtitle = `${info.cores} cores (${info.cpu}), Node ${info.node}, ${info.date.slice(0, 10)}${quick ? ', quick run' : ''}`;
    await writeFile(join(outDir, 'concurrency.svg'), concurrencyChart(chartPoints, subtitle));
    say('');
    say(`Chart: ${join(outDir, 'concurrency.svg')}`);
  }
  const totalS = (performance.now() - startedAt) / 1000;
  await writeFile(
    join(outDir, 'summary.json'),
    `${JSON.stringify({ machine: info, quick, totalSeconds: Math.round(totalS), scenarios: Object.fromEntries([...results].map(([name, r]) => [name, { bot: stripAnswers(r.bot, false), naive: stripAnswers(r.naive, false), chatStream: stripAnswers(r.chatStream ?? null, false) }])), targets: checks }, null, 2)}\n`,
  );
  await writeFile(join(outDir, 'summary.md'), summaryMarkdown(info, quick, totalS, header, rows, checks));
  say(`Results: ${outDir} (${Math.round(totalS)} s)`);
  const failed = checks.filter((c) => c.verdict === 'FAIL').length;
  say(failed === 0 ? 'All targets met.' : `${failed} target check(s) failed.`);
}

function summaryMarkdown(
  info: ReturnType<typeof machine>,
  quick: boolean,
  totalS: number,
  header: string[],
  rows: string[][],
  checks: TargetCheck[],
): string {
  return `# Benchmark results${quick ? ' (quick run)' : ''}

${info.date.slice(0, 10)} · ${info.cores} cores (${info.cpu}) · ${info.memoryGb} GB · Node ${info.node} · load average at start ${info.loadAverageAtStart.join(' ')} · ${Math.round(totalS)} s

Bot figures; the naive baseline's and the bot/naive ratio in parentheses.

${markdownTable(header, rows)}

## Targets

${markdownTable(
  ['verdict', 'target', 'scenario', 'figures'],
  checks.map((c) => [
    c.verdict === 'PASS' ? 'PASS' : `**${c.verdict}**`,
    c.target,
    c.scenario,
    c.detail.replace(/\|/g, '\\|'),
  ]),
  ['l', 'l', 'l', 'l'],
)}
`;
}

try {
  await main();
} catch (error) {
  process.stderr.write(`bench: ${(error as Error).message}\n`);
  process.exitCode = 2;
}
