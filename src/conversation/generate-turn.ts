/**
 * Step 5 of an answer (SPEC §5, generate): the model's answer streamed to the answer's output.
 * Retries what can be retried before any text was shown (throttling, a request our estimate made
 * too long, files the model turned out not to read); runs tool rounds until the model answers,
 * pausing the turn where a call needs a person's approval. Knows nothing of Slack or Bedrock: the
 * model port yields events, the output shows them.
 */
import { AnswerError, asAnswerError } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import { MESSAGES } from './messages.ts';
import type {
  AnswerEvent,
  AnswerModel,
  AnswerOutput,
  CitedSource,
  PausedTurn,
  RequestTurn,
  ThreadState,
  Toolbox,
  ToolResultRecord,
  ToolSource,
  ToolSpec,
  ToolUse,
  Turn,
} from './ports.ts';
import { type Prepared, requestTurns } from './prepare-turn.ts';
import { estimateRequestTokens, estimateTokens, trimToBudget } from './thread-history.ts';
import { pauseUnlessAborted } from './thread-turns.ts';
import { runToolRound, type ToolRoundDeps } from './tool-rounds.ts';

/** What generating produced, whatever the outcome. */
export interface Generated {
  answer: string;
  stopReason: string;
  /** Every model call of the answer added up (each tool round is a call of its own). */
  usage: { inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheWriteTokens: number };
  /** Our estimate of the requests whose usage is in `usage`, to correct the estimate like for like. */
  estimatedTokens: number;
  kbSessionId: string | null;
  citations: CitedSource[];
  firstTokenAtMs: number | null;
  error: AnswerError | null;
  /** Why the answer was cut short before the model finished: a restart, Slack, or the person's Stop. */
  stoppedBy: 'restart' | 'slack' | 'user' | null;
  /** The turns of the request that produced the answer (after any re-trimming). */
  sentTurns: RequestTurn[];
  /** This answer's tool rounds so far (assistant calls, user results), kept in history with it. */
  rounds: Turn[];
  /** Tool calls the model asked for in the model call under way. */
  toolUses: ToolUse[];
  /** The text of the last model call (the answer's own final turn after any tool rounds). */
  finalText: string;
  /** Tools called, by name, for the answer's log line. */
  toolsUsed: string[];
  /** Lines for under the answer that generating produced (tools unavailable, rounds used up). */
  notes: string[];
  /** Set when the round needs a person's approval: the calls that wait, and the results already known. */
  paused: { gated: ToolUse[]; results: ToolResultRecord[] } | null;
}

/** What a resumed turn starts from: the paused rounds, finished with the person's decision. */
export type GenerationSeed = Partial<Pick<Generated, 'rounds' | 'citations' | 'toolsUsed'>>;

export interface GenerateDeps {
  model: AnswerModel;
  metrics: Metrics;
  settings: { modelAttempts: number; systemPrompt: string };
  /** Tools the model may call, with their limits; none: answers without tools. */
  tools?: { toolbox: Toolbox; timeoutMs: number; maxRounds: number };
  /** Aborted when shutdown's bound is near. */
  restart: AbortSignal;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Backoff before retry `attempt` (1-based) of a throttled model call. */
  retryDelayMs?: (attempt: number) => number;
}

/** One answer being generated: what it sends, where it shows, and what stops it. */
export interface Generation {
  prepared: Prepared;
  /** The model call started before admission (a new thread's first question), if it can be used. */
  earlyEvents: AsyncIterable<AnswerEvent> | null;
  signal: AbortSignal;
  /** Aborted by the person's Stop (one of the causes of `signal`). */
  stoppedByPerson: AbortSignal;
  output: AnswerOutput;
  startedAtMs: number;
  /** The model refused a kind of file: its inputs now say so; plan the files again. */
  replan: () => Promise<Prepared>;
}

/** A model call's context: the generation, its result so far, and the tools offered. */
interface Call extends Generation {
  result: Generated;
  tools: ToolSpec[];
}

export class TurnGenerator {
  readonly #deps: GenerateDeps;

  constructor(deps: GenerateDeps) {
    this.#deps = deps;
  }

  /** Streams the model's answer to the output, with tool rounds, until it answers, pauses or stops. */
  async generate(run: Generation, state: ThreadState | null, seed: GenerationSeed = {}): Promise<Generated> {
    const result = newResult(run.prepared, state, seed);
    const call: Call = { ...run, result, tools: this.toolsFor(run.prepared) };
    const down = this.#deps.tools?.toolbox.unavailable(run.prepared.toolsChannelId) ?? [];
    if (down.length > 0) result.notes.push(MESSAGES.toolsUnavailable(down));
    for (let round = 0; ; round += 1) {
      await this.#callModel({ ...call, earlyEvents: round === 0 ? run.earlyEvents : null });
      if (
        result.error ||
        run.signal.aborted ||
        result.stopReason !== 'tool_use' ||
        result.toolUses.length === 0
      )
        break;
      if (!this.#deps.tools || call.tools.length === 0) break; // none were offered: nothing to run
      if (round >= this.#deps.tools.maxRounds) {
        result.notes.push(MESSAGES.toolRoundsLimit);
        break;
      }
      if ((await this.#toolRound(call)) === 'paused' || run.signal.aborted) break;
    }
    if (run.signal.aborted) {
      result.stoppedBy = this.#deps.restart.aborted
        ? 'restart'
        : run.stoppedByPerson.aborted
          ? 'user'
          : 'slack';
      result.error = null;
    }
    return result;
  }

  /** The paused round, finished: the approved calls run (shown as steps), or a denial for each. */
  async resumedRound(
    paused: PausedTurn,
    approved: boolean,
    prepared: Prepared,
    output: AnswerOutput,
    signal: AbortSignal,
  ): Promise<GenerationSeed> {
    const toolsUsed: string[] = [];
    let gatedResults: ToolResultRecord[];
    const citations = [...paused.citations];
    if (approved && this.#deps.tools) {
      const done = await runToolRound(
        paused.gated,
        this.toolsFor(prepared),
        this.#toolRoundDeps(output, signal, { toolsUsed }, prepared.asker),
      );
      gatedResults = done.results;
      addSources(citations, done.sources);
    } else {
      gatedResults = paused.gated.map((use) => ({
        toolUseId: use.id,
        status: 'error',
        text: MESSAGES.deniedResult,
      }));
    }
    const rounds: Turn[] = [
      ...paused.rounds,
      { role: 'user', text: '', toolResults: [...paused.results, ...gatedResults] },
    ];
    return { rounds, citations, toolsUsed };
  }

  /** The tools offered for this answer: its channel's, as its settings allow (those that need approval pause the turn). */
  toolsFor(prepared: Prepared): ToolSpec[] {
    const offered = (this.#deps.tools?.toolbox.toolsFor(prepared.toolsChannelId) ?? []).filter(
      // Channel knowledge's search is offered only where the channel (or DM) learns.
      (tool) => tool.name !== 'search_channel_knowledge' || prepared.grounding?.offerTool === true,
    );
    const allowed = prepared.allowedTools;
    const tools = allowed === null ? offered : offered.filter((tool) => allowed.includes(tool.name));
    // A resumed turn's request carries tool blocks: Converse refuses them without their tools' configuration.
    const paused = (prepared.pausedTools ?? []).filter((tool) => !tools.some((t) => t.name === tool.name));
    return [...tools, ...paused];
  }

  /**
   * The model asked for tools: its turn so far (text and calls) and the results make one round in
   * history. Calls with side effects wait for a person: the turn pauses there, its state in the store.
   */
  async #toolRound(call: Call): Promise<'continued' | 'paused'> {
    const { result, tools, output, signal } = call;
    const uses = result.toolUses;
    result.rounds.push({ role: 'assistant', text: result.finalText, toolUses: uses });
    const gated = uses.filter((use) => tools.some((tool) => tool.name === use.name && tool.needsApproval));
    const done = await runToolRound(
      uses.filter((use) => !gated.includes(use)),
      tools,
      this.#toolRoundDeps(output, signal, result, call.prepared.asker),
    );
    addSources(result.citations, done.sources);
    if (gated.length > 0) {
      for (const use of gated)
        output.showStep({
          id: `tool-${use.id}`,
          title: tools.find((tool) => tool.name === use.name)?.title ?? use.name,
          status: 'pending',
          details: 'waiting for approval',
        });
      result.paused = { gated, results: done.results };
      return 'paused';
    }
    result.rounds.push({ role: 'user', text: '', toolResults: done.results });
    return 'continued';
  }

  #toolRoundDeps(
    output: AnswerOutput,
    signal: AbortSignal,
    result: Pick<Generated, 'toolsUsed'>,
    asker: Prepared['asker'],
  ): ToolRoundDeps {
    const { metrics } = this.#deps;
    return {
      asker,
      toolbox: this.#deps.tools?.toolbox as Toolbox,
      output,
      signal,
      timeoutMs: this.#deps.tools?.timeoutMs ?? 15_000,
      onCall: (tool: string, outcome: 'success' | 'error', durationMs: number) => {
        result.toolsUsed.push(tool);
        metrics.toolCalls.inc({ tool, outcome });
        metrics.toolDuration.observe({ tool }, durationMs / 1000);
      },
    };
  }

  /** One model call (with its retries before any text), the answer's tool rounds appended to the request. */
  async #callModel(call: Call): Promise<void> {
    const { result, signal, prepared, tools } = call;
    result.toolUses = [];
    result.finalText = '';
    result.stopReason = 'end_turn';
    const retry = new RetryState(prepared.budgetTokens, result.answer.length);
    for (let attempt = 1; !signal.aborted; attempt += 1) {
      try {
        const events =
          attempt === 1 && call.earlyEvents
            ? call.earlyEvents
            : this.#deps.model.stream({
                turns: [...result.sentTurns, ...result.rounds],
                kbSessionId: result.kbSessionId,
                signal,
                options: prepared.model,
                historyTrimmed: prepared.trimmed.droppedTurns > 0,
                ...(tools.length > 0 ? { tools } : {}),
              });
        for await (const event of events) {
          if (signal.aborted) break; // leaving the loop ends the model call too
          this.#apply(event, call);
        }
        result.error = null;
        return;
      } catch (thrown) {
        if (signal.aborted) return;
        result.error = asAnswerError(thrown);
        if ((await this.#recover(call, retry, attempt)) === 'give_up') return;
      }
    }
  }

  /** After a failed model call: adjust the request and try again, or give up with the error kept. */
  async #recover(call: Call, retry: RetryState, attempt: number): Promise<'again' | 'give_up'> {
    const { result, prepared } = call;
    const error = result.error as AnswerError;
    if (result.answer.length > retry.shownBefore) return 'give_up'; // text was shown: keep it, do not start over
    if (error.code === 'input_too_long' && !retry.trimmedHarder) {
      // Our estimate was too low for this model: keep at most half of what was just sent.
      retry.trimmedHarder = true;
      const { history, sentQuestionText, scale } = prepared;
      const sentTokens = result.sentTurns.reduce((sum, turn) => sum + estimateTokens(turn.text, scale), 0);
      retry.budget = Math.min(Math.floor(retry.budget / 2), Math.floor(sentTokens / 2));
      prepared.trimmed = trimToBudget(history, { role: 'user', text: sentQuestionText }, retry.budget, scale);
      result.sentTurns = requestTurns(prepared);
      return 'again';
    }
    if (error.code === 'model_inputs_changed' && !retry.replanned) {
      // Learned from Bedrock's refusal: the files it does not read are left out, and said so.
      retry.replanned = true;
      Object.assign(prepared, await call.replan());
      if (prepared.unanswerable) {
        result.error = new AnswerError('model_inputs_changed', prepared.unanswerable);
        return 'give_up';
      }
      retry.budget = prepared.budgetTokens;
      result.sentTurns = requestTurns(prepared);
      return 'again';
    }
    if (error.retryable && attempt < this.#deps.settings.modelAttempts) {
      const delayMs =
        this.#deps.retryDelayMs?.(attempt) ?? 250 * 2 ** (attempt - 1) * (1 + Math.random() / 2);
      await pauseUnlessAborted(this.#deps.sleep, delayMs, call.signal);
      return 'again';
    }
    return 'give_up';
  }

  #apply(event: AnswerEvent, call: Call): void {
    const { result, output } = call;
    switch (event.type) {
      case 'text':
        if (result.firstTokenAtMs === null) {
          result.firstTokenAtMs = this.#deps.now();
          this.#deps.metrics.timeToFirstToken.observe((result.firstTokenAtMs - call.startedAtMs) / 1000);
        }
        result.answer += event.text;
        result.finalText += event.text;
        output.write(event.text);
        break;
      case 'status':
        output.showStatus(event.status);
        break;
      case 'citation':
        for (const source of event.sources)
          if (!result.citations.some((c) => c.id === source.id)) result.citations.push(source);
        break;
      case 'session':
        result.kbSessionId = event.kbSessionId;
        break;
      case 'usage':
        // Added up: an answer with tool rounds makes several calls, and each one is paid for; the
        // estimate of each call's request is added beside it, so the correction compares like for like.
        result.usage = addUsage(result.usage, event);
        result.estimatedTokens += estimateRequestTokens(
          [...result.sentTurns, ...result.rounds],
          call.prepared.model.systemPrompt ?? this.#deps.settings.systemPrompt,
        );
        break;
      case 'stop':
        result.stopReason = event.reason;
        break;
      case 'tool_use':
        result.toolUses.push({ id: event.id, name: event.name, input: event.input });
        break;
    }
  }
}

/** What one model call has tried so far, so that each remedy is tried once. */
class RetryState {
  trimmedHarder = false;
  replanned = false;
  budget: number;
  /** How much of the answer was shown before this call: a failure after more is not retried. */
  readonly shownBefore: number;
  constructor(budget: number, shownBefore: number) {
    this.budget = budget;
    this.shownBefore = shownBefore;
  }
}

function newResult(prepared: Prepared, state: ThreadState | null, seed: GenerationSeed): Generated {
  return {
    answer: '',
    stopReason: 'end_turn',
    usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 },
    estimatedTokens: 0,
    kbSessionId: state?.kbSessionId ?? null,
    citations: [],
    firstTokenAtMs: null,
    error: null,
    stoppedBy: null,
    sentTurns: requestTurns(prepared),
    rounds: [],
    toolUses: [],
    finalText: '',
    toolsUsed: [],
    notes: [],
    paused: null,
    ...seed,
  };
}

/** Tool sources join the answer's citations, each once. */
function addSources(citations: CitedSource[], sources: ToolSource[]): void {
  for (const source of sources)
    if (!citations.some((c) => c.id === source.url))
      citations.push({ id: source.url, title: source.title, url: source.url });
}

function addUsage(
  sum: Generated['usage'],
  event: { inputTokens: number; outputTokens: number; cacheReadTokens?: number; cacheWriteTokens?: number },
): Generated['usage'] {
  return {
    inputTokens: sum.inputTokens + event.inputTokens,
    outputTokens: sum.outputTokens + event.outputTokens,
    cacheReadTokens: sum.cacheReadTokens + (event.cacheReadTokens ?? 0),
    cacheWriteTokens: sum.cacheWriteTokens + (event.cacheWriteTokens ?? 0),
  };
}
