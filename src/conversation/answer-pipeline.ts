/**
 * One answer, holding the thread's turn, through the steps of SPEC §5 in order: prepare
 * (prepare-turn.ts), generate (generate-turn.ts), then show and commit as its outcome says
 * (outcomes.ts, commit-turn.ts), and record it (answer-record.ts). A Regenerate click first finds
 * the question it asks again (regenerate.ts); a turn resumed after an approval starts from its
 * paused round.
 */
import { newReferenceId } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { QuestionControls } from './answer-controls.ts';
import { type FinishedRun, recordAnswer } from './answer-record.ts';
import { commitTurn } from './commit-turn.ts';
import type { ConversationDeps } from './conversation-deps.ts';
import type { EarlyAnswer } from './early-answer.ts';
import type { GenerationSeed, TurnGenerator } from './generate-turn.ts';
import { concludeAnswer, OUTCOMES, outcomeOf } from './outcomes.ts';
import type { AnswerOutput, HeldThread, PausedTurn, Question } from './ports.ts';
import { type Prepared, preparedForResume, prepareTurn } from './prepare-turn.ts';
import { rebaseForRegenerate } from './regenerate.ts';
import type { ThreadTurns } from './thread-turns.ts';
import type { ToolApprovals } from './tool-approvals.ts';

/** One answer's signal, and who may pull it: the answer itself (Slack refused it) or the person. */
export interface AnswerAbort {
  signal: AbortSignal;
  own: AbortController;
  byPerson: AbortController;
}

export interface AnswerPipelineDeps extends ConversationDeps {
  turns: ThreadTurns;
  approvals: ToolApprovals;
  generator: TurnGenerator;
  now: () => number;
}

export class AnswerPipeline {
  readonly #deps: AnswerPipelineDeps;

  constructor(deps: AnswerPipelineDeps) {
    this.#deps = deps;
  }

  /** Prepare, generate, then show and keep what the outcome says. */
  async run(
    asked: Question,
    controls: QuestionControls,
    held: HeldThread,
    log: Logger,
    early: EarlyAnswer | null,
    abort: AnswerAbort,
  ): Promise<boolean> {
    const rebased = asked.regenerate
      ? await rebaseForRegenerate(this.#deps.surface, { ...asked, regenerate: asked.regenerate }, held.state)
      : { question: asked, base: held.state };
    if (!rebased) return false;
    const { question, base } = rebased;
    // A resumed turn reads its paused turn under the lock; it stays stored until this turn commits.
    const paused = question.resume ? await this.#pausedTurn(question, held, log) : null;
    if (question.resume && !paused) return false;
    const preparedAtMs = this.#deps.now();
    // Slack refused the message for good: nobody will see the rest, so stop generating it.
    const openOutput = () =>
      this.#deps.surface.open(question, { onUnwritable: (error) => abort.own.abort(error) });
    // A question with files shows that they are being read (a question of files only may end up
    // with nothing readable, and then gets a private sentence instead of an answer).
    const outputWhileReading = question.files?.length && question.text.trim() ? openOutput() : null;
    outputWhileReading?.showStatus('reading');
    const prepare = () => prepareTurn(this.#deps, question, controls, base, log);
    const prepared = paused
      ? preparedForResume(paused, base, question, controls, this.#deps.settings.historyTokenBudget)
      : await prepare();
    if (prepared.unanswerable) {
      // Only files, and none of them readable: say why, and ask no model.
      log.info({ leftOut: prepared.leftOut.length }, 'question refused: no readable file and no text');
      this.#deps.metrics.answers.inc({ outcome: 'refused_files' });
      await this.#deps.surface.ephemeral(question, prepared.unanswerable).catch(() => undefined);
      return false;
    }
    // The early call asked without history or context: usable only if that is what we would send.
    const earlyEvents =
      held.state === null && early?.asked(prepared.trimmed.turns) ? (early.take(abort.signal) ?? null) : null;
    early?.discard();
    const startedAtMs = earlyEvents && early ? early.startedAtMs : preparedAtMs;
    const output = outputWhileReading ?? openOutput();
    output.showStatus('thinking');
    // A turn that paused for an approval goes on from its pending round, with the decision made.
    const seed = paused ? await this.#resumedRound(paused, question, prepared, output, abort.signal) : {};
    const run = { prepared, earlyEvents, signal: abort.signal, stoppedByPerson: abort.byPerson.signal };
    const generated = await this.#deps.generator.generate(
      { ...run, output, startedAtMs, replan: prepare },
      held.state,
      seed,
    );
    const { state, token: lockToken } = held;
    const done = { question, controls, state, base, lockToken, prepared, generated, output, startedAtMs };
    return this.#conclude(done, paused, log);
  }

  /** The paused round finished with the person's decision (generate-turn.ts `resumedRound`). */
  #resumedRound(
    paused: PausedTurn,
    question: Question,
    prepared: Prepared,
    output: AnswerOutput,
    signal: AbortSignal,
  ): Promise<GenerationSeed> {
    const approved = question.resume?.approved === true;
    return this.#deps.generator.resumedRound(paused, approved, prepared, output, signal);
  }

  /**
   * A resumed question's paused turn, read under the lock, or null (the person who clicked is told
   * when it is gone; a replica that cannot run its tools now leaves it pending, see tool-approvals.ts).
   */
  async #pausedTurn(question: Question, held: HeldThread, log: Logger): Promise<PausedTurn | null> {
    const paused = await this.#deps.approvals.begin(question, held.state).catch((err: unknown) => {
      log.warn({ err }, 'could not read the paused turn');
      return null;
    });
    if (!paused || !question.resume?.approved) return paused;
    const here = this.#deps.tools?.toolbox.toolsFor(question.thread.channelId) ?? [];
    return paused.gated.every((use) => here.some((tool) => tool.name === use.name)) ? paused : null;
  }

  /** Shows and keeps the outcome (outcomes.ts), then counts it, records its usage and logs its line. */
  async #conclude(run: FinishedRun, paused: PausedTurn | null, log: Logger): Promise<boolean> {
    const { question, prepared, generated, output } = run;
    const ref = newReferenceId();
    const kind = outcomeOf(generated);
    let saved = false;
    const committed = await concludeAnswer(kind, {
      generated,
      prepared,
      output,
      state: run.state,
      base: run.base,
      ref,
      log,
      metrics: this.#deps.metrics,
      commit: (before, kept) =>
        commitTurn(
          { ...this.#deps, turns: this.#deps.turns },
          question,
          before,
          {
            prepared,
            generated: kept,
            lockToken: run.lockToken,
            onSaved: () => {
              saved = true;
            },
          },
          log,
        ),
      pause: (turn) => this.#deps.approvals.pause(question, turn, output, log),
      offeredTools: this.#deps.generator.toolsFor(prepared),
      resumed: paused !== null,
    });
    // The approval is done once its turn is saved, or carried on by a new pause: it ends saying so.
    if (paused && (saved || kind === 'paused'))
      await this.#deps.approvals
        .settled(question, paused)
        .catch((err: unknown) => log.warn({ err }, 'could not settle the approval'));
    await recordAnswer(this.#deps, run, OUTCOMES[kind].label, ref, log);
    // Hook: channel knowledge learns the answered thread, in the background.
    if (kind === 'answered' && committed && !question.regenerate)
      this.#deps.knowledge?.answered(
        {
          teamId: question.thread.teamId,
          channelId: question.thread.channelId,
          threadTs: question.thread.threadTs,
          userId: question.userId,
          text: question.text,
        },
        generated.rounds.length > 0 ? generated.finalText : generated.answer,
      );
    return committed;
  }
}
