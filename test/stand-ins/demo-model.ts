/**
 * The playground's demo model: handlers for the Bedrock stand-ins that answer the way a model
 * would look from Slack, without being one. It streams at a realistic pace, writes Markdown (lists,
 * code blocks, a table now and then), shows what the bot gave it (so thread memory is visible), and
 * answers Knowledge Base questions from a few bundled demo documents with real citation events.
 * Its answers are deterministic: the same request gets the same text.
 *
 * @example
 * const demo = new DemoModel({ firstTokenDelayMs: 700, tokensPerSecond: 30 });
 * bedrock.setHandler(demo.converse); // FakeBedrockRuntime: ConverseStream
 * agent.setHandler(demo.knowledgeBase); // FakeBedrockAgentRuntime: RetrieveAndGenerateStream, Retrieve
 * demo.faults.throttle = true; // every request now answers ThrottlingException
 */
import type {
  AgentHandler,
  AgentReply,
  CitationSpec,
  RecordedAgentRequest,
  RetrievalLocation,
  RetrievedPassage,
} from './fake-bedrock-agent-runtime.ts';
import type {
  ModelHandler,
  ModelReply,
  ModelRequestBody,
  RecordedModelRequest,
} from './fake-bedrock-runtime.ts';
import { wordTokens } from './http2-json-server.ts';

export interface DemoModelOptions {
  /** Time to first token, in milliseconds (default 700). */
  firstTokenDelayMs?: number;
  /** Word-sized tokens per second after the first (default 30). */
  tokensPerSecond?: number;
}

/** Faults the playground's switches inject; each applies to the next requests while set. */
export interface DemoFaults {
  /** Every request answers ThrottlingException. */
  throttle: boolean;
  /** Every request answers AccessDeniedException (model access not enabled). */
  accessDenied: boolean;
  /** The first token comes after SLOW_FIRST_TOKEN_MS. */
  slowFirstToken: boolean;
  /** The stream breaks after half of the answer. */
  failMidway: boolean;
}

export const SLOW_FIRST_TOKEN_MS = 8_000;
export const DEMO_MODEL_ID = 'playground.demo-model-v1';
export const DEMO_KNOWLEDGE_BASE_ID = 'DEMOKB0001';

export interface DemoDocument {
  title: string;
  location: RetrievalLocation;
  /** Words that make a question about this document. */
  keywords: string[];
  /** What the document says, one Markdown statement each (cited one by one). */
  statements: string[];
}

/** The demo Knowledge Base: four short documents from the usual kinds of data source. */
export const demoDocuments: DemoDocument[] = [
  {
    title: 'Refund policy',
    location: { type: 'S3', s3Location: { uri: 's3://acme-demo-kb/policies/refund-policy.pdf' } },
    keywords: ['refund', 'refunds', 'return', 'returns', 'money', 'payment', 'chargeback'],
    statements: [
      'Refunds go back to the original payment method within **5 business days** of approval.',
      'Orders older than **30 days** need a team lead to approve the refund first.',
    ],
  },
  {
    title: 'On-call runbook',
    location: {
      type: 'CONFLUENCE',
      confluenceLocation: { url: 'https://acme-demo.atlassian.net/wiki/spaces/ENG/pages/42/On-call+runbook' },
    },
    keywords: ['on-call', 'oncall', 'incident', 'incidents', 'page', 'pager', 'outage', 'sev', 'escalate'],
    statements: [
      'The on-call engineer acknowledges a page within **15 minutes** and opens an incident channel.',
      'During a severity 1 incident the status page is updated every **30 minutes**.',
    ],
  },
  {
    title: 'Travel and expenses',
    location: {
      type: 'WEB',
      webLocation: { url: 'https://intranet.acme-demo.example/handbook/travel-and-expenses' },
    },
    keywords: ['travel', 'expense', 'expenses', 'flight', 'flights', 'hotel', 'receipt', 'receipts', 'meal'],
    statements: [
      'Flights under **6 hours** are booked in economy through the travel portal.',
      'Receipts are due within **14 days**; meals are covered up to **$60 a day**.',
    ],
  },
  {
    title: 'Laptop security',
    location: {
      type: 'SHAREPOINT',
      sharePointLocation: {
        url: 'https://acme-demo.sharepoint.com/sites/it/Shared%20Documents/laptop-security.docx',
      },
    },
    keywords: ['laptop', 'security', 'encryption', 'password', 'lost', 'stolen', 'device', 'vpn'],
    statements: [
      'Laptops use full-disk encryption and lock after **5 minutes** without use.',
      'A lost laptop is reported to IT security at once, and it is wiped remotely.',
    ],
  },
];

/** Documents that match the question, best first (words in common with their keywords and title). */
export function searchDemoDocuments(question: string, limit = 2): DemoDocument[] {
  const words = new Set(question.toLowerCase().match(/[a-z0-9$-]+/g) ?? []);
  return demoDocuments
    .map((doc, index) => {
      const terms = [...doc.keywords, ...doc.title.toLowerCase().split(/\s+/)];
      return { doc, index, score: terms.filter((term) => words.has(term)).length };
    })
    .filter((hit) => hit.score > 0)
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .slice(0, limit)
    .map((hit) => hit.doc);
}

function passageOf(doc: DemoDocument): RetrievedPassage {
  return {
    text: doc.statements.map((statement) => statement.replace(/\*\*/g, '')).join(' '),
    location: doc.location,
    metadata: { title: doc.title },
  };
}

export class DemoModel {
  readonly faults: DemoFaults = {
    throttle: false,
    accessDenied: false,
    slowFirstToken: false,
    failMidway: false,
  };
  readonly firstTokenDelayMs: number;
  readonly tokensPerSecond: number;
  /** Questions asked in each Knowledge Base session, so follow-ups show that the session carried over. */
  readonly #sessions = new Map<string, string[]>();

  constructor(options: DemoModelOptions = {}) {
    this.firstTokenDelayMs = options.firstTokenDelayMs ?? 700;
    this.tokensPerSecond = options.tokensPerSecond ?? 30;
    if (this.tokensPerSecond <= 0) throw new RangeError('tokensPerSecond must be positive');
  }

  /** The handler for FakeBedrockRuntime (Converse and ConverseStream). */
  readonly converse: ModelHandler = (request: RecordedModelRequest): ModelReply => {
    const fault = this.#faultReply();
    if (fault) return fault;
    const tools = demoKnowledgeUse(request.body) ?? demoToolUse(request.body);
    if (tools)
      return {
        ...tools,
        firstTokenDelayMs: this.#firstTokenDelayMs(),
        tokensPerSecond: this.tokensPerSecond,
      };
    const text = demoAnswer(request.body);
    const tokens = wordTokens(text);
    return {
      text: tokens,
      firstTokenDelayMs: this.#firstTokenDelayMs(),
      tokensPerSecond: this.tokensPerSecond,
      ...(this.faults.failMidway ? { failAfterChunks: Math.floor(tokens.length / 2) } : {}),
    };
  };

  /** The handler for FakeBedrockAgentRuntime (RetrieveAndGenerate(Stream) and Retrieve). */
  readonly knowledgeBase: AgentHandler = (request: RecordedAgentRequest): AgentReply => {
    const fault = this.#faultReply();
    if (fault) return fault;
    if (request.operation === 'Retrieve') {
      const hits = searchDemoDocuments(request.text, 3);
      return { retrievalResults: hits.map((doc, i) => ({ ...passageOf(doc), score: 0.9 - i * 0.1 })) };
    }
    const sessionId = request.responseSessionId ?? '';
    const earlier = this.#sessions.get(sessionId) ?? [];
    this.#sessions.set(sessionId, [...earlier, request.text]);
    const parts = demoKnowledgeBaseAnswer(request.text, earlier);
    const outputs: string[] = [];
    const citations: CitationSpec[] = [];
    let offset = 0;
    for (const part of parts) {
      outputs.push(...wordTokens(part.text));
      if (part.references && part.references.length > 0) {
        const span = { start: offset, end: offset + part.text.length - 1 };
        citations.push({
          afterOutputIndex: outputs.length - 1,
          text: part.text,
          span,
          references: part.references,
        });
      }
      offset += part.text.length;
    }
    return {
      outputs,
      citations,
      firstTokenDelayMs: this.#firstTokenDelayMs(),
      chunkDelayMs: 1000 / this.tokensPerSecond,
      ...(this.faults.failMidway
        ? { failAfterChunks: Math.floor(outputs.length / 2), streamError: 'internalServerException' as const }
        : {}),
    };
  };

  #faultReply(): { error: 'ThrottlingException' | 'AccessDeniedException' } | undefined {
    if (this.faults.accessDenied) return { error: 'AccessDeniedException' };
    if (this.faults.throttle) return { error: 'ThrottlingException' };
    return undefined;
  }

  #firstTokenDelayMs(): number {
    return this.faults.slowFirstToken ? SLOW_FIRST_TOKEN_MS : this.firstTokenDelayMs;
  }
}

// ---- what the demo model writes ----

const CODE_WORDS = /\b(code|example|snippet|script|function|typescript|javascript|python|sdk)\b/i;
const TABLE_WORDS = /\b(table|compare|comparison|versus|vs|options|plans?|pricing|prices?)\b/i;
const PING_WORDS = /\b(ping|pings|mention|mentions|broadcast|escape|escaping)\b/i;

function textOf(message: { content?: Array<{ text?: string }> } | undefined): string {
  return (message?.content ?? []).map((block) => block.text ?? '').join('');
}

/** The files that came with a message, in words: "an image (png, 12 KB)", "a document (pdf, 3 KB)". */
function filesOf(message: unknown): string[] {
  const content = ((message as { content?: unknown[] } | undefined)?.content ?? []) as Array<{
    image?: { format?: string; source?: { bytes?: unknown } };
    document?: { format?: string; source?: { bytes?: unknown } };
  }>;
  return content.flatMap((block) => {
    const file = block.image ?? block.document;
    if (!file) return [];
    const bytes = file.source?.bytes;
    // The SDK sends bytes as base64 in JSON: about four characters for three bytes.
    const size = typeof bytes === 'string' ? Math.round((bytes.length * 3) / 4) : 0;
    const what = block.image ? 'an image' : 'a document';
    return [`${what} (${file.format ?? '?'}, ${(size / 1000).toFixed(1)} KB)`];
  });
}

/** A question as the bot wrote it, without the quoted thread it adds when the thread is new to it. */
function splitThreadContext(text: string): { question: string; quoted: number; viewing: string | null } {
  const match = /<thread_messages>\n([\s\S]*?)\n<\/thread_messages>\n\nQuestion: ([\s\S]*)$/.exec(text);
  if (!match) return { question: text, quoted: 0, viewing: null };
  const quoted = (match[1] ?? '').split('\n').filter((line) => !line.startsWith('  ')).length;
  // What the person is looking at (the Messages tab's context) is quoted the same way, named first.
  const viewing =
    /^Messages from (.+?) in Slack, which the person asking is looking at/.exec(text)?.[1] ?? null;
  const inner = splitThreadContext(match[2] ?? '');
  return viewing
    ? { question: inner.question, quoted, viewing }
    : { question: match[2] ?? '', quoted, viewing };
}

/** Quoted inline: one line, at most `max` characters, no Markdown table breakers. */
function inline(text: string, max = 80): string {
  const flat = text.replace(/\s+/g, ' ').replace(/\|/g, '/').trim();
  return flat.length > max ? `${flat.slice(0, max - 1).trimEnd()}…` : flat;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

function quoteList(items: string[]): string {
  const quoted = items.map((item) => `“${inline(item, 60)}”`);
  if (quoted.length <= 1) return quoted.join('');
  return `${quoted.slice(0, -1).join(', ')} and ${quoted.at(-1)}`;
}

interface GroundingSource {
  id: string;
  title: string;
  text: string;
}

/** The numbered sources retrieve mode puts in the system prompt. */
function sourcesIn(system: string): GroundingSource[] {
  const sources: GroundingSource[] = [];
  for (const match of system.matchAll(/<source id="(\d+)" title="([^"]*)">\n([\s\S]*?)\n<\/source>/g)) {
    sources.push({ id: match[1] ?? '', title: match[2] ?? '', text: match[3] ?? '' });
  }
  return sources;
}

/**
 * What the demo model does with the playground's demo tools (the MCP stand-in's shop): "the status
 * of order 1234" looks it up, "open a ticket" asks for one (which needs an approval), and a result
 * is read back. Null when no tool applies (or none is offered).
 */
export function demoToolUse(
  body: ModelRequestBody,
): { text: string; toolUses?: Array<{ name: string; input: unknown }> } | null {
  const offered = new Set(
    ((body.toolConfig as { tools?: Array<{ toolSpec?: { name?: string } }> } | undefined)?.tools ?? []).map(
      (tool) => tool.toolSpec?.name ?? '',
    ),
  );
  if (offered.size === 0) return null;
  const messages = body.messages ?? [];
  const last = messages.at(-1) as
    | { content?: Array<{ toolResult?: { content?: Array<{ text?: string }>; status?: string } }> }
    | undefined;
  const results = (last?.content ?? []).flatMap((block) => (block.toolResult ? [block.toolResult] : []));
  if (results.length > 0) {
    // Read the results back: the tools' own words, after their data marker line.
    const lines = results.map((result) => {
      const text = (result.content ?? []).map((c) => c.text ?? '').join('\n');
      const data = text.split('\n').slice(1).join(' ').trim() || text;
      return result.status === 'error'
        ? `- That did not work: ${inline(data, 160)}`
        : `- ${inline(data, 160)}`;
    });
    return { text: `Here is what the shop says:\n${lines.join('\n')}` };
  }
  const question = splitThreadContext(textOf(messages.filter((m) => m.role === 'user').at(-1))).question;
  const order = /\border\s*#?(\d+)/i.exec(question)?.[1] ?? /\b(\d{3,})\b/.exec(question)?.[1];
  if (/\bticket\b/i.test(question) && offered.has('shop__open_ticket'))
    return {
      text: 'I can open a ticket for that. ',
      toolUses: [
        { name: 'shop__open_ticket', input: { order_id: order ?? '1234', summary: inline(question, 80) } },
      ],
    };
  if (order && offered.has('shop__order_status'))
    return {
      text: 'Let me look that up. ',
      toolUses: [{ name: 'shop__order_status', input: { order_id: order } }],
    };
  return null;
}

/**
 * What the demo model does where the channel learns (`search_channel_knowledge` is offered): asked
 * about a file or document, it looks there first (unless a shop tool applies), reads back the
 * passages found, and answers as usual when nothing was. Null when the knowledge search has no part in this request.
 */
export function demoKnowledgeUse(
  body: ModelRequestBody,
): { text: string; toolUses?: Array<{ name: string; input: unknown }> } | null {
  const tools = (body.toolConfig as { tools?: Array<{ toolSpec?: { name?: string } }> } | undefined)?.tools;
  if (!tools?.some((tool) => tool.toolSpec?.name === 'search_channel_knowledge')) return null;
  const messages = body.messages ?? [];
  type Block = {
    text?: string;
    toolUse?: { name?: string };
    toolResult?: { content?: Array<{ text?: string }> };
  };
  const blocks = (message: unknown) =>
    ((message as { content?: Block[] } | undefined)?.content ?? []) as Block[];
  const asked = blocks(messages.at(-2)).some((block) => block.toolUse?.name === 'search_channel_knowledge');
  const results = blocks(messages.at(-1)).flatMap((block) => (block.toolResult ? [block.toolResult] : []));
  if (asked && results.length > 0) {
    const found = results
      .map((result) => (result.content ?? []).map((c) => c.text ?? '').join('\n'))
      .join('\n');
    // The passages as the tool numbered them: "[1] name" then the passage.
    const passages = found.split(/\n(?=\[\d+\] )/).flatMap((block) => {
      const match = /^\[(\d+)\] (.+)\n([\s\S]+)/.exec(block.trim());
      return match ? [`- ${inline(match[3] ?? '', 160)} (${inline(match[2] ?? '', 60)}) [${match[1]}]`] : [];
    });
    if (passages.length === 0) {
      // Nothing learned about it: the usual answer to the question alone.
      const asking = messages.findLastIndex(
        (m) => m.role === 'user' && blocks(m).some((block) => block.text?.trim()),
      );
      return { text: demoAnswer({ ...body, messages: messages.slice(0, asking + 1) }) };
    }
    return { text: `From what this channel has learned:\n${passages.join('\n')}` };
  }
  if (results.length > 0 || demoToolUse(body)) return null;
  const question = splitThreadContext(textOf(messages.filter((m) => m.role === 'user').at(-1))).question;
  // Not an LLM: it looks only when the question is about something shared here.
  if (!/\b(file|files|document|doc|shared|attached|uploaded|according)\b/i.test(question)) return null;
  return {
    text: 'Let me check what this channel has learned. ',
    toolUses: [{ name: 'search_channel_knowledge', input: { query: inline(question, 200) } }],
  };
}

/** The demo model's whole answer to a Converse request (deterministic). */
export function demoAnswer(body: ModelRequestBody): string {
  const messages = body.messages ?? [];
  const userTurns = messages.filter((message) => message.role === 'user').map(textOf);
  const { question, quoted, viewing } = splitThreadContext(userTurns.at(-1) ?? '');
  const earlier = userTurns.slice(0, -1).map((turn) => splitThreadContext(turn).question);
  const system = (body.system ?? []).map((block) => ('text' in block ? (block.text ?? '') : '')).join('\n');
  const turn = earlier.length + 1;
  const parts: string[] = [];

  if (earlier.length === 0) {
    parts.push(`You asked: *${inline(question)}*`);
  } else {
    const recent = earlier.slice(-3);
    parts.push(
      `You've asked me ${turn} things in this thread; earlier you asked: ${quoteList(recent)}.`,
      `Now you ask: *${inline(question)}*`,
    );
  }

  const sources = sourcesIn(system);
  if (sources.length > 0) {
    parts.push(
      'From the Knowledge Base:',
      sources
        .map((source) => `- ${inline(source.text.split(/(?<=\.)\s/)[0] ?? '', 140)} [${source.id}]`)
        .join('\n'),
    );
  } else if (system.includes('The knowledge base returned nothing')) {
    parts.push('The Knowledge Base has nothing on that. Try refunds, on-call, travel or laptops.');
  }

  if (CODE_WORDS.test(question)) {
    parts.push(
      'Here is how this bot streams an answer from Bedrock, in TypeScript:',
      [
        '```ts',
        'const response = await client.send(new ConverseStreamCommand({ modelId, system, messages }));',
        'for await (const event of response.stream ?? []) {',
        '  const text = event.contentBlockDelta?.delta?.text;',
        '  if (text) answer.write(text); // shown in Slack as it arrives',
        '}',
        '```',
      ].join('\n'),
    );
  }
  if (PING_WORDS.test(question)) {
    parts.push(
      'Model output can never ping anyone: when I write <!channel>, <!here> or <@U0002>, the bot escapes it, so Slack shows it as text.',
    );
  }

  if (earlier.length === 0) {
    const given = [
      `- **${plural(messages.length, 'message')}**: your question${quoted > 0 ? '' : ', nothing earlier (this thread is new to me)'}`,
      ...(viewing
        ? [`- ${plural(quoted, 'message')} from ${viewing}, which you are looking at, quoted for context`]
        : quoted > 0
          ? [`- ${plural(quoted, 'earlier message')} of this Slack thread, quoted for context`]
          : []),
      ...filesOf(messages.at(-1)).map((file) => `- ${file}, shared with your question`),
      `- a system prompt of ${system.length.toLocaleString('en-US')} characters: “${inline(system, 48)}”`,
      `- room for ${(body.inferenceConfig?.maxTokens ?? 0).toLocaleString('en-US')} output tokens`,
    ];
    parts.push(
      'I am the playground’s **demo model**, not a real one. What the bot sent me:',
      given.join('\n'),
    );
    parts.push(
      [
        'Try next:',
        '1. Reply in this thread without mentioning me: I will remember your question.',
        '2. Ask for `code` or a `table` to see how they render.',
        '3. Switch on a fault in the side panel, then ask again.',
      ].join('\n'),
    );
  } else if (TABLE_WORDS.test(question) || turn % 2 === 0) {
    const rows = messages.map(
      (message, index) =>
        `| ${index + 1} | ${message.role} | ${inline(splitThreadContext(textOf(message)).question, 40)} |`,
    );
    parts.push(
      `The bot sent me this thread as **${plural(messages.length, 'message')}**:`,
      ['| # | role | text |', '| --- | --- | --- |', ...rows].join('\n'),
    );
  } else {
    parts.push(
      `The bot sent me **${plural(messages.length, 'message')}**: your ${plural(turn, 'question')} and my ${plural(turn - 1, 'answer')}, from the store, keyed by the thread.`,
    );
  }
  return parts.join('\n\n');
}

/** The parts of a Knowledge Base answer; parts with references are cited. */
export function demoKnowledgeBaseAnswer(
  question: string,
  earlierQuestions: string[],
): Array<{ text: string; references?: RetrievedPassage[] }> {
  const parts: Array<{ text: string; references?: RetrievedPassage[] }> = [];
  if (earlierQuestions.length > 0) {
    parts.push({
      text: `This thread's Knowledge Base session continues: earlier you asked ${quoteList(earlierQuestions.slice(-3))}.\n\n`,
    });
  }
  const hits = searchDemoDocuments(question);
  if (hits.length === 0) {
    const titles = demoDocuments.map((doc) => `*${doc.title}*`).join(', ');
    parts.push({
      text: `I found nothing about that in the demo Knowledge Base. It holds four documents: ${titles}. Ask about one of them.`,
    });
    return parts;
  }
  parts.push({ text: 'Here is what the demo Knowledge Base says:\n\n' });
  for (const [index, doc] of hits.entries()) {
    for (const [n, statement] of doc.statements.entries()) {
      const last = index === hits.length - 1 && n === doc.statements.length - 1;
      parts.push({ text: `- ${statement}`, references: [passageOf(doc)] });
      parts.push({ text: last ? '\n\n' : '\n' });
    }
  }
  parts.push({ text: 'Ask a follow-up in this thread: the bot sends this thread’s session with it.' });
  return parts;
}
