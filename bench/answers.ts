/**
 * The benchmark's questions and the model's answers, both derived from one small spec so that the
 * Bedrock stand-in (in its own process) and the measuring side agree on every answer without
 * sharing state: the question text carries the answer's id, size and pace, and the answer text is
 * a deterministic function of them.
 *
 * @example
 * const spec = { id: 'burst-7', words: 80, firstTokenDelayMs: 300, chunksPerSecond: 20, wordsPerChunk: 2 };
 * const text = questionText(spec); // '<@UBOT> Q[burst-7] w=80 ttft=300 cps=20 wpc=2 How do refunds work?'
 * parseQuestion(text); // the same spec
 * answerChunks(spec).join('') === answerText(spec); // true
 */

export interface AnswerSpec {
  /** Unique within a run; appears in the answer's first words. */
  id: string;
  /** About how many words the answer has. */
  words: number;
  /** The model's own time to first token. */
  firstTokenDelayMs: number;
  /** Text deltas per second after the first. */
  chunksPerSecond: number;
  /** Words per text delta (Bedrock sends a few tokens per `contentBlockDelta`). */
  wordsPerChunk: number;
}

const QUESTION_PATTERN = /Q\[([A-Za-z0-9_-]+)\] w=(\d+) ttft=(\d+) cps=(\d+(?:\.\d+)?) wpc=(\d+)/g;

export function questionText(spec: AnswerSpec, botUserId = 'UBOT'): string {
  return `<@${botUserId}> Q[${spec.id}] w=${spec.words} ttft=${spec.firstTokenDelayMs} cps=${spec.chunksPerSecond} wpc=${spec.wordsPerChunk} How do refunds work?`;
}

/** The last spec in a text (the bot may put earlier thread content before the question). */
export function parseQuestion(text: string): AnswerSpec | null {
  let found: AnswerSpec | null = null;
  for (const match of text.matchAll(QUESTION_PATTERN)) {
    found = {
      id: match[1] ?? '',
      words: Number(match[2]),
      firstTokenDelayMs: Number(match[3]),
      chunksPerSecond: Number(match[4]),
      wordsPerChunk: Number(match[5]),
    };
  }
  return found;
}

const VOCABULARY = [
  'refund',
  'invoice',
  'customer',
  'account',
  'policy',
  'request',
  'payment',
  'within',
  'business',
  'days',
  'the',
  'team',
  'approves',
  'reviews',
  'order',
  'receipt',
  'finance',
  'ticket',
  'support',
  'credit',
  'card',
  'bank',
  'transfer',
  'manager',
  'usually',
  'after',
  'before',
  'each',
  'month',
  'report',
  'shows',
  'status',
  'pending',
  'approved',
  'rejected',
  'amount',
  'currency',
  'region',
  'contract',
  'renewal',
];

/** A small deterministic PRNG (mulberry32) seeded from the id. */
function random(seedText: string): () => number {
  let seed = 2166136261;
  for (let i = 0; i < seedText.length; i += 1) seed = Math.imul(seed ^ seedText.charCodeAt(i), 16777619);
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sentence(next: () => number, words: number): string {
  const parts: string[] = [];
  for (let i = 0; i < words; i += 1) parts.push(VOCABULARY[Math.floor(next() * VOCABULARY.length)] ?? 'x');
  const first = parts[0] ?? 'x';
  parts[0] = first.charAt(0).toUpperCase() + first.slice(1);
  // Some inline Markdown the renderer passes through: bold, italics, a link.
  if (words > 6 && next() < 0.3) parts[2] = `**${parts[2]}**`;
  if (words > 6 && next() < 0.2) parts[4] = `_${parts[4]}_`;
  if (words > 8 && next() < 0.1) parts[6] = `[${parts[6]}](https://example.com/docs/${parts[6]})`;
  return `${parts.join(' ')}.`;
}

/**
 * The model's Markdown answer: paragraphs, a bulleted list, now and then a code block and a
 * table (which the bot's renderer turns into something Slack shows well). About `words` words.
 */
export function answerText(spec: AnswerSpec): string {
  const next = random(spec.id);
  const blocks: string[] = [`**Answer ${spec.id}.** ${sentence(next, 8)}`];
  let words = 10;
  let index = 0;
  while (words < spec.words) {
    index += 1;
    const kind = index % 7;
    if (kind === 3) {
      const items = 3;
      blocks.push(
        Array.from({ length: items }, () => `- ${sentence(next, 6)}`)
          .join('\n')
          .trimEnd(),
      );
      words += items * 6;
    } else if (kind === 5 && spec.words >= 150) {
      blocks.push(
        '```ts\nconst refund = await payments.refund({ orderId, amount });\nconsole.log(refund.status);\n```',
      );
      words += 10;
    } else if (kind === 6 && spec.words >= 400) {
      blocks.push(
        '| step | owner | days |\n| --- | --- | --- |\n| review | support | 1 |\n| approve | finance | 2 |',
      );
      words += 12;
    } else {
      const count = Math.min(3, Math.max(1, Math.ceil((spec.words - words) / 12)));
      const paragraph = Array.from({ length: count }, () => sentence(next, 12)).join(' ');
      blocks.push(paragraph);
      words += count * 12;
    }
  }
  return blocks.join('\n\n');
}

/** The answer as the model streams it: `wordsPerChunk` words (with their whitespace) per delta. */
export function answerChunks(spec: AnswerSpec): string[] {
  const tokens = answerText(spec).match(/\s*\S+\s*/g) ?? [];
  const chunks: string[] = [];
  const size = Math.max(1, spec.wordsPerChunk);
  for (let i = 0; i < tokens.length; i += size) chunks.push(tokens.slice(i, i + size).join(''));
  return chunks;
}
