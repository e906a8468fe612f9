/**
 * Grounded answers from a Bedrock Knowledge Base, in two modes behind the same model port:
 *
 * - managed: RetrieveAndGenerateStream; Bedrock keeps the conversation in a KB session whose id
 *   the thread stores. Its input takes at most 1,000 characters, so a longer question is answered
 *   through retrieve mode instead of being refused.
 * - retrieve: Retrieve the top passages, then ConverseStream with the configured model, the
 *   passages as numbered sources and the thread's own history.
 */
import {
  type BedrockAgentRuntimeClient,
  RetrieveAndGenerateStreamCommand,
  RetrieveCommand,
} from '@aws-sdk/client-bedrock-agent-runtime';
import type {
  AnswerEvent,
  AnswerModel,
  AnswerRequest,
  CitedSource,
  ModelChoice,
  ModelInputs,
} from '../conversation/ports.ts';
import { mapBedrockError } from './bedrock-errors.ts';
import { MarkerRenumbering, SpanMarkers } from './citation-markers.ts';
import { MANAGED_INPUTS } from './model-inputs.ts';
import type { SourceLinks, SourceReference } from './source-links.ts';

/** RetrieveAndGenerate refuses longer input. */
export const MANAGED_INPUT_LIMIT_CHARS = 1_000;

export interface KnowledgeBaseOptions {
  client: BedrockAgentRuntimeClient;
  knowledgeBaseId: string;
  region: string;
  modelId: string;
  links: SourceLinks;
  numberOfResults: number;
  /** Checks the generated answer (managed mode; retrieve mode's Converse call has its own). */
  guardrail?: { id: string; version: string } | null;
}

/** Document-level access control: retrieval as the asker (botocore's `UserContext`: `{userId}`). */
function userContextOf(request: AnswerRequest): { userContext?: { userId: string } } {
  const userId = request.options?.knowledgeBaseUserId;
  return userId ? { userContext: { userId } } : {};
}

function lastQuestion(request: AnswerRequest): string {
  return request.turns.at(-1)?.text ?? '';
}

export class ManagedKnowledgeBaseModel implements AnswerModel {
  inputsFor(): ModelInputs {
    return MANAGED_INPUTS;
  }
  readonly #options: KnowledgeBaseOptions;
  readonly #modelArn: () => Promise<string>;
  readonly #longQuestions: AnswerModel;

  constructor(
    options: KnowledgeBaseOptions & { modelArn: () => Promise<string>; longQuestions: AnswerModel },
  ) {
    this.#options = options;
    this.#modelArn = options.modelArn;
    this.#longQuestions = options.longQuestions;
  }

  async *stream(request: AnswerRequest): AsyncIterable<AnswerEvent> {
    const question = lastQuestion(request);
    // The KB session holds only what went through it. A question too long for it, or a thread whose
    // earlier turns it does not hold (one went through retrieve mode, or the session expired), is
    // answered in retrieve mode with the thread's own history; the session is dropped, so later
    // short follow-ups keep that context too.
    const sessionLacksHistory = request.turns.length > 1 && !request.kbSessionId;
    if (question.length > MANAGED_INPUT_LIMIT_CHARS || sessionLacksHistory) {
      if (request.kbSessionId) yield { type: 'session', kbSessionId: null };
      yield* this.#longQuestions.stream(request);
      return;
    }
    const { knowledgeBaseId, links, region, modelId } = this.#options;
    const context = { modelId, region, knowledgeBaseId, knowledgeBase: true };
    // Sent before the first event is yielded: a call started early (see early-answer.ts) is on the
    // wire while the store admits the question, not only once the answer reads its events.
    const sent = this.#send(question, request.kbSessionId, request);
    sent.catch(() => undefined); // awaited below; a discarded early call must not go unhandled
    yield { type: 'status', status: 'searching' };
    const markers = new SpanMarkers();
    let stopReason = 'end_turn';
    try {
      let response: Awaited<typeof sent>;
      try {
        response = await sent;
      } catch (error) {
        // Bedrock forgot the session (expired or unknown): a new one answers, and is kept.
        if (!request.kbSessionId || mapBedrockError(error, context).code !== 'kb_session_invalid')
          throw error;
        response = await this.#send(question, null, request);
      }
      if (response.sessionId) yield { type: 'session', kbSessionId: response.sessionId };
      let cited = 0;
      for await (const event of response.stream ?? []) {
        if (event.output?.text) {
          const text = markers.pushText(event.output.text);
          if (text) yield { type: 'text', text };
        }
        if (event.citation) {
          // Newer API versions flatten the citation; older ones nest it under `citation`.
          const citation = event.citation.citation ?? event.citation;
          const part = citation.generatedResponsePart?.textResponsePart;
          const span = part?.span;
          const sources = await toSources(links, citation.retrievedReferences ?? []);
          const text = markers.cite(citedEnd(span, part?.text), sources);
          if (text) yield { type: 'text', text };
          const fresh = markers.numbering.sources.slice(cited);
          cited = markers.numbering.sources.length;
          if (fresh.length > 0)
            yield { type: 'citation', start: span?.start ?? 0, end: span?.end ?? 0, sources: fresh };
        }
        if (event.guardrail?.action === 'INTERVENED') stopReason = 'guardrail_intervened';
      }
      const rest = markers.finish();
      if (rest) yield { type: 'text', text: rest };
      yield { type: 'stop', reason: stopReason };
    } catch (error) {
      throw mapBedrockError(error, context);
    }
  }

  #send(question: string, sessionId: string | null, request: AnswerRequest) {
    const { signal } = request;
    const { client, knowledgeBaseId, numberOfResults, guardrail } = this.#options;
    return this.#modelArn().then((modelArn) =>
      client.send(
        new RetrieveAndGenerateStreamCommand({
          input: { text: question },
          ...(sessionId ? { sessionId } : {}),
          ...userContextOf(request),
          retrieveAndGenerateConfiguration: {
            type: 'KNOWLEDGE_BASE',
            knowledgeBaseConfiguration: {
              knowledgeBaseId,
              modelArn,
              retrievalConfiguration: { vectorSearchConfiguration: { numberOfResults } },
              ...(guardrail
                ? {
                    generationConfiguration: {
                      guardrailConfiguration: {
                        guardrailId: guardrail.id,
                        guardrailVersion: guardrail.version,
                      },
                    },
                  }
                : {}),
            },
          },
        }),
        { abortSignal: signal },
      ),
    );
  }
}

export class RetrieveThenConverseModel implements AnswerModel {
  readonly #options: KnowledgeBaseOptions;
  readonly #converse: AnswerModel;
  readonly #systemPrompt: string;

  constructor(options: KnowledgeBaseOptions & { converse: AnswerModel; systemPrompt: string }) {
    this.#options = options;
    this.#converse = options.converse;
    this.#systemPrompt = options.systemPrompt;
  }

  /** Files go to the Converse call with the question, as in plain answers. */
  inputsFor(choice?: ModelChoice): ModelInputs {
    return this.#converse.inputsFor(choice);
  }

  async *stream(request: AnswerRequest): AsyncIterable<AnswerEvent> {
    const { client, knowledgeBaseId, links, region, modelId, numberOfResults } = this.#options;
    // Sent before the first event is yielded (see the managed mode).
    const sent = client.send(
      new RetrieveCommand({
        knowledgeBaseId,
        ...userContextOf(request),
        retrievalQuery: { text: lastQuestion(request).slice(-MANAGED_INPUT_LIMIT_CHARS) },
        retrievalConfiguration: { vectorSearchConfiguration: { numberOfResults } },
      }),
      { abortSignal: request.signal },
    );
    sent.catch(() => undefined);
    yield { type: 'status', status: 'searching' };
    let results: RetrievedPassage[];
    try {
      const response = await sent;
      results = (response.retrievalResults ?? []) as RetrievedPassage[];
    } catch (error) {
      throw mapBedrockError(error, { modelId, region, knowledgeBaseId, knowledgeBase: true });
    }
    const { documents, passages } = await byDocument(links, results);
    const markers = new MarkerRenumbering(documents);
    let cited = 0;
    for await (const event of this.#converse.stream({
      ...request,
      system: groundedPrompt(request.options?.systemPrompt ?? this.#systemPrompt, documents, passages),
    })) {
      if (event.type !== 'text') {
        yield event;
        continue;
      }
      const text = markers.pushText(event.text);
      if (text) yield { type: 'text', text };
      const fresh = markers.numbering.sources.slice(cited);
      cited = markers.numbering.sources.length;
      if (fresh.length > 0) yield { type: 'citation', start: 0, end: 0, sources: fresh };
    }
    const rest = markers.finish();
    if (rest) yield { type: 'text', text: rest };
    const fresh = markers.numbering.sources.slice(cited);
    if (fresh.length > 0) yield { type: 'citation', start: 0, end: 0, sources: fresh };
  }
}

/** One passage Retrieve returned, with where it came from. */
type RetrievedPassage = {
  content?: { text?: string };
  location?: SourceReference['location'];
  metadata?: Record<string, unknown>;
};

/** One numbered source per distinct document; its passages go together. */
async function byDocument(
  links: SourceLinks,
  results: RetrievedPassage[],
): Promise<{ documents: CitedSource[]; passages: string[][] }> {
  const documents: CitedSource[] = [];
  const passages: string[][] = [];
  for (const result of results) {
    const source = await links.toSource(result);
    const text = result.content?.text?.trim();
    if (!source || !text) continue;
    let index = documents.findIndex((d) => d.id === source.id);
    if (index < 0) {
      documents.push(source);
      passages.push([]);
      index = documents.length - 1;
    }
    passages[index]?.push(text);
  }
  return { documents, passages };
}

/**
 * Where a cited span ends, as an exclusive offset. Bedrock's `span.end` is the last character's
 * index; the cited text's own length confirms it when present.
 */
function citedEnd(span: { start?: number; end?: number } | undefined, text: string | undefined): number {
  if (span?.start !== undefined && text) return span.start + text.length;
  if (span?.end !== undefined) return span.end + 1;
  return Number.MAX_SAFE_INTEGER;
}

async function toSources(links: SourceLinks, references: SourceReference[]): Promise<CitedSource[]> {
  const sources = await Promise.all(references.map((reference) => links.toSource(reference)));
  return sources.filter((source): source is CitedSource => source !== null);
}

function groundedPrompt(base: string, documents: CitedSource[], passages: string[][]): string {
  if (documents.length === 0) {
    return `${base}\n\nThe knowledge base returned nothing for this question. Say so, and answer only if you are sure.`;
  }
  const blocks = documents.map(
    (doc, i) =>
      `<source id="${i + 1}" title="${doc.title.replace(/"/g, "'")}">\n${(passages[i] ?? []).join('\n---\n')}\n</source>`,
  );
  return [
    base,
    '',
    'Answer from the numbered sources below. After each statement that uses a source, write its number in',
    'square brackets, like [1] or [2][3]. Do not list the sources at the end; they are shown separately.',
    'If the sources do not contain the answer, say so.',
    '',
    ...blocks,
  ].join('\n');
}

/**
 * RetrieveAndGenerate wants a model ARN. A foundation-model id maps to its ARN directly; an
 * inference profile id (us., eu., apac., jp., global.) needs the account, found once and cached.
 */
export function modelArnResolver(options: {
  modelId: string;
  region: string;
  explicitArn: string | null;
  accountId: () => Promise<string>;
}): () => Promise<string> {
  let cached: Promise<string> | null = null;
  return () => {
    cached ??= (async () => {
      const { modelId, region, explicitArn } = options;
      if (explicitArn) return explicitArn;
      if (modelId.startsWith('arn:')) return modelId;
      if (/^(us|eu|apac|jp|global|us-gov|ca|au)\./.test(modelId)) {
        return `arn:aws:bedrock:${region}:${await options.accountId()}:inference-profile/${modelId}`;
      }
      return `arn:aws:bedrock:${region}::foundation-model/${modelId}`;
    })().catch((error: unknown) => {
      cached = null;
      throw error;
    });
    return cached;
  };
}
