/**
 * Step 4 of an answer (SPEC §5, prepare): what the model is sent. The thread's history (or, the
 * first time the bot is asked in an existing thread, the thread so far as quoted context), what
 * the person is looking at in the Messages tab, the files within the model's limits, all trimmed
 * to the history's token budget into a valid Converse message list.
 */
import type { Logger } from '../logger.ts';
import {
  AttachmentBudget,
  attachmentTokens,
  type LeftOut,
  leftOutSentence,
  readWithin,
} from './attachments.ts';
import type { Grounding, KnowledgeGrounding } from './knowledge-ports.ts';
import { MESSAGES } from './messages.ts';
import type {
  AnswerModel,
  Asker,
  Attachment,
  ConversationStore,
  FileReader,
  FileRef,
  ImageFitter,
  ModelChoice,
  PausedTurn,
  Question,
  RequestTurn,
  ThreadReader,
  ThreadState,
  ToolSpec,
  Turn,
} from './ports.ts';
import { FileUnreadableError, ThreadReadLimitedError } from './ports.ts';
import { estimateScale, type TrimmedTurns, trimToBudget, withThreadContext } from './thread-history.ts';
import { flattenToolRounds } from './tool-rounds.ts';

/** The question as it goes to the model, and what it costs. */
export interface Prepared {
  /** The question text as stored in history (with the thread's context, when read). */
  questionText: string;
  /** Whose channel's tools the model may use (the question's). */
  toolsChannelId: string;
  /** Who asks and where, for tools that act as that person (or search as they may see, or that channel's knowledge). */
  asker: Asker;
  /** The channel's settings' tools, by name; null: every tool the bot has. */
  allowedTools: string[] | null;
  /** The question's files (and the new thread's earlier ones) that go to the model, and their references. */
  attachments: Attachment[];
  attachedFiles: FileRef[];
  /** Files left out (format, size, count, access), for one sentence under the answer. */
  leftOut: LeftOut[];
  /** Said under the answer when Slack would not let the thread be read (one line). */
  threadNote: string | null;
  /** Files of earlier turns read again, by file id: a follow-up about the same file sees it. */
  historyAttachments: Map<string, Attachment>;
  /** Set when the question is only files and none of them can be read: said instead of asking. */
  unanswerable: string | null;
  /** As sent now: also with what the person is looking at, which is read anew for every question. */
  sentQuestionText: string;
  history: Turn[];
  scale: number;
  budgetTokens: number;
  trimmed: TrimmedTurns;
  /** The channel's choice of model, prompt and Knowledge Base. */
  model: ModelChoice;
  /** What channel knowledge adds (the search tool, quoted passages, "Answered before"); null: nothing. */
  grounding?: Grounding | null;
  /** A resumed turn's tools as offered when it paused: its request carries their configuration. */
  pausedTools?: ToolSpec[];
}

export interface PrepareDeps {
  store: ConversationStore;
  model: AnswerModel;
  threadReader: ThreadReader;
  /** Reads files shared with questions (default: none can be read). */
  files?: FileReader;
  /** Scales an image down to the model's limit on its sides (default: images go as read). */
  images?: ImageFitter;
  settings: { historyTokenBudget: number };
  /** Channel knowledge: grounds the answer in what the channel (or DM) learned. */
  knowledge?: KnowledgeGrounding;
}

/** What the channel's controls decided for this question: the model choice and its tools. */
export interface PrepareChoice {
  model: ModelChoice;
  tools: string[] | null;
  /** The model that answers (the channel's, or the configured one). */
  modelId?: string;
}

/** The text beside files sent without a question (Converse needs a text block beside a document). */
const FILES_ONLY_QUESTION =
  '(The person shared the attached file(s) without a question. Say what they show.)';
const NO_FILES: FileReader = {
  read: async () => {
    throw new FileUnreadableError('unavailable', 'this bot reads no files');
  },
};

/** History (or, the first time the bot is asked in an existing thread, the thread so far), trimmed to the budget. */
export async function prepareTurn(
  deps: PrepareDeps,
  question: Question,
  choice: PrepareChoice,
  state: ThreadState | null,
  log: Logger,
): Promise<Prepared> {
  const { settings, model } = deps;
  const history = state?.turns ?? [];
  const scale = estimateScale(state?.lastRequest ?? null);
  const budgetTokens = settings.historyTokenBudget;
  const asked = question.text.trim() === '' && question.files?.length ? FILES_ONLY_QUESTION : question.text;
  const context = await threadContext(deps, question, state, asked, Math.floor(budgetTokens / scale), log);
  // Files within the model's limits: the question's own first, then the thread's newest first.
  const budget = new AttachmentBudget(model.inputsFor(choice.model));
  const read = (files: FileRef[]) => readWithin(files, budget, deps.files ?? NO_FILES, deps.images);
  const current = await read([...(question.files ?? []), ...context.files]);
  const attachments = current.read.map((file) => file.attachment);
  const leftOut = current.leftOut.filter((item) => question.files?.includes(item.file));
  const unanswerable =
    asked === FILES_ONLY_QUESTION && attachments.length === 0 ? leftOutSentence(current.leftOut) : null;
  const viewed = await withViewing(
    deps,
    question,
    context.questionText,
    Math.floor(budgetTokens / scale),
    log,
  );
  // Hook: channel knowledge — the search tool, or passages quoted as data, and "Answered before".
  const grounding = await groundingFor(deps, question, choice);
  const sentQuestionText = grounding?.context ? `${viewed}\n\n${grounding.context}` : viewed;
  const textBudget = Math.max(1, budgetTokens - attachmentTokens(attachments));
  const trimmed = trimToBudget(history, { role: 'user', text: sentQuestionText }, textBudget, scale);
  // Earlier turns' files that stay in the request are read again, within what is left of the limits.
  const historyAttachments = new Map<string, Attachment>();
  for (const turn of [...trimmed.turns.slice(0, -1)].reverse()) {
    if (!turn.files?.length) continue;
    const again = await read(turn.files);
    for (const file of again.read) historyAttachments.set(file.file.id, file.attachment);
  }
  return {
    questionText: context.questionText,
    toolsChannelId: question.thread.channelId,
    asker: askerOf(question),
    grounding,
    allowedTools: choice.tools,
    sentQuestionText,
    attachments,
    attachedFiles: current.read.map((file) => file.file),
    leftOut,
    threadNote: context.note,
    historyAttachments,
    unanswerable,
    history,
    scale,
    budgetTokens: textBudget,
    trimmed,
    model: choice.model,
  };
}

/**
 * Who asks and where: tools search as that person may see (or that channel's own knowledge), and a
 * personal tool server's Connect step goes to them there.
 */
function askerOf(question: Question): Asker {
  const { userId, actionToken, thread } = question;
  return {
    userId,
    teamId: thread.teamId,
    channelId: thread.channelId,
    threadTs: thread.threadTs,
    ...(actionToken ? { actionToken } : {}),
  };
}

/** What channel knowledge adds to this answer (knowledge/channel-knowledge.ts), or null without it. */
async function groundingFor(
  deps: PrepareDeps,
  question: Question,
  choice: PrepareChoice,
): Promise<Grounding | null> {
  if (!deps.knowledge) return null;
  const { teamId, channelId, threadTs } = question.thread;
  return deps.knowledge.ground(
    { teamId, channelId, threadTs, userId: question.userId, text: question.text },
    choice.modelId ?? choice.model.modelId ?? '',
  );
}

/**
 * The first time the bot is asked in an existing thread, the thread so far as quoted context (the
 * most recent messages that fit the budget) and its files; otherwise the question alone.
 */
async function threadContext(
  deps: PrepareDeps,
  question: Question,
  state: ThreadState | null,
  asked: string,
  budgetTokens: number,
  log: Logger,
): Promise<{ questionText: string; files: FileRef[]; note: string | null }> {
  if (state || question.thread.threadTs === question.messageTs || question.surface === 'command')
    return { questionText: asked, files: [], note: null };
  let note: string | null = null;
  const earlier = await deps.threadReader.read(question.thread, question.messageTs).catch((err: unknown) => {
    if (err instanceof ThreadReadLimitedError) note = MESSAGES.threadUnread;
    else log.warn({ err }, 'could not read the thread; answering without its context');
    return [];
  });
  return {
    questionText: withThreadContext(asked, earlier, budgetTokens),
    files: earlier.flatMap((message) => message.files ?? []).reverse(),
    note,
  };
}

/** In the Messages tab, the question with what the person is looking at quoted beside it. */
async function withViewing(
  deps: PrepareDeps,
  question: Question,
  questionText: string,
  budgetTokens: number,
  log: Logger,
): Promise<string> {
  if (question.surface !== 'dm') return questionText;
  const { store, threadReader } = deps;
  const viewing =
    question.viewing ??
    (await store.getViewing(`${question.thread.teamId}:${question.userId}`).catch((err: unknown) => {
      log.warn({ err }, 'could not read what the person is looking at');
      return null;
    }));
  if (!viewing) return questionText;
  const { label, messages } = await threadReader.readViewing(viewing);
  return withThreadContext(questionText, messages, budgetTokens, { kind: 'viewing', label });
}

/** What a resumed turn sends: the thread's history as it is now, and the paused question's text. */
export function preparedForResume(
  paused: PausedTurn,
  state: ThreadState | null,
  question: Question,
  choice: PrepareChoice,
  historyTokenBudget: number,
): Prepared {
  const history = state?.turns ?? [];
  const scale = estimateScale(state?.lastRequest ?? null);
  const questionTurn = { role: 'user' as const, text: paused.questionText };
  return {
    questionText: paused.questionText,
    toolsChannelId: question.thread.channelId,
    asker: { userId: paused.askerId, teamId: question.thread.teamId, channelId: question.thread.channelId },
    allowedTools: choice.tools,
    sentQuestionText: paused.questionText,
    attachments: [],
    attachedFiles: [],
    leftOut: [],
    threadNote: null,
    historyAttachments: new Map(),
    unanswerable: null,
    history,
    scale,
    budgetTokens: historyTokenBudget,
    trimmed: trimToBudget(history, questionTurn, historyTokenBudget, scale),
    model: paused.model ?? choice.model,
    pausedTools: paused.tools ?? [],
  };
}

/** The request's turns with their files' bytes: the question's own on the last turn. */
export function requestTurns(prepared: Prepared): RequestTurn[] {
  // Earlier answers' tool rounds go as text: the tools they used may be gone (see tool-rounds.ts).
  const turns = flattenToolRounds(prepared.trimmed.turns);
  return turns.map((turn, index) => {
    if (index === turns.length - 1) return { ...turn, attachments: prepared.attachments };
    const attachments = (turn.files ?? []).flatMap((file) => {
      const found = prepared.historyAttachments.get(file.id);
      return found ? [found] : [];
    });
    return attachments.length > 0 ? { ...turn, attachments } : turn;
  });
}
