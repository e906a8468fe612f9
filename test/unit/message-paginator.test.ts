import { describe, expect, it } from 'vitest';
import type { CodeFence } from '../../src/slack/render/code-fence.ts';
import { isFenceClose, parseFenceOpen } from '../../src/slack/render/code-fence.ts';
import { MarkdownRenderer, renderMarkdown } from '../../src/slack/render/markdown-renderer.ts';
import {
  MessagePaginator,
  type PageOp,
  pagesFromOps,
  paginate,
  SLACK_MESSAGE_LIMIT_CHARS,
} from '../../src/slack/render/message-paginator.ts';
import { ZERO_WIDTH_SPACE } from '../../src/slack/render/slack-safe-text.ts';
import { prng, randomPieces } from '../support/seeded-random.ts';

const LIMIT = SLACK_MESSAGE_LIMIT_CHARS;
const Z = ZERO_WIDTH_SPACE;

function streamPages(pieces: readonly string[], limitChars: number): PageOp[] {
  const paginator = new MessagePaginator({ limitChars });
  return [...pieces.flatMap((piece) => paginator.push(piece)), ...paginator.finish()];
}

function inputOf(ops: readonly PageOp[]): string {
  return ops.map((op) => (op.type === 'append' && op.repair === undefined ? op.text : '')).join('');
}

/** The fence still open at the end of a page, or null when its code blocks are balanced. */
function openFenceAtEnd(page: string): CodeFence | null {
  let fence: CodeFence | null = null;
  for (const line of page.split('\n')) {
    if (fence === null) fence = parseFenceOpen(line);
    else if (isFenceClose(line, fence)) fence = null;
  }
  return fence;
}

function words(random: () => number, count: number): string {
  const vocabulary = [
    'refund',
    'order',
    'the',
    'customer',
    'invoice',
    'is',
    'processed',
    'within',
    'days',
    'and',
  ];
  return Array.from({ length: count }, () => vocabulary[Math.floor(random() * vocabulary.length)]).join(' ');
}

function codeBlock(random: () => number, approxChars: number, fence = '```', info = 'ts'): string {
  const lines: string[] = [];
  let size = 0;
  while (size < approxChars) {
    const line = `  const value${lines.length} = compute(${words(random, 2 + Math.floor(random() * 8)).replaceAll(' ', ', ')});`;
    lines.push(line);
    size += line.length + 1;
  }
  return `${fence}${info}\n${lines.join('\n')}\n${fence}`;
}

/** A long answer: paragraphs, lists and ~2,000-character code blocks, separated by blank lines. */
function longAnswer(seed: number, targetChars: number): { text: string; codeBlocks: string[] } {
  const random = prng(seed);
  const blocks: string[] = [];
  const codeBlocks: string[] = [];
  let size = 0;
  while (size < targetChars) {
    const pick = random();
    let block: string;
    if (pick < 0.25) {
      block = codeBlock(random, 1800 + Math.floor(random() * 400), random() < 0.7 ? '```' : '~~~', 'python');
      codeBlocks.push(block);
    } else if (pick < 0.4) {
      block = Array.from({ length: 3 + Math.floor(random() * 5) }, () => `- ${words(random, 8)}`).join('\n');
    } else {
      block = `${words(random, 30 + Math.floor(random() * 150))}.`;
    }
    blocks.push(block);
    size += block.length + 2;
  }
  return { text: `${blocks.join('\n\n')}\n`, codeBlocks };
}

function expectValidPages(ops: readonly PageOp[], input: string, limitChars: number): string[] {
  const pages = pagesFromOps(ops);
  expect(inputOf(ops)).toBe(input);
  for (const page of pages) {
    expect(page.length).toBeLessThanOrEqual(limitChars);
    expect(page.length).toBeGreaterThan(0);
  }
  for (let i = 1; i < ops.length; i++) {
    expect(ops[i - 1]?.type === 'break' && ops[i]?.type === 'break').toBe(false);
  }
  return pages;
}

describe('paginate', () => {
  it('returns short text as one message', () => {
    expect(paginate('Hello **world**.\n')).toEqual(['Hello **world**.\n']);
    expect(paginate('')).toEqual([]);
  });

  it('splits a 45,000-character answer streamed in random chunks without splitting any code block', () => {
    // Arrange
    const { text, codeBlocks } = longAnswer(1, 45_000);
    const random = prng(99);

    for (let round = 0; round < 5; round++) {
      // Act
      const ops = streamPages(randomPieces(text, random, 1 + Math.floor(random() * 600)), LIMIT);

      // Assert
      const pages = expectValidPages(ops, text, LIMIT);
      expect(pages.length).toBeGreaterThanOrEqual(4);
      expect(ops.some((op) => op.type === 'append' && op.repair)).toBe(false);
      for (const page of pages) expect(openFenceAtEnd(page)).toBeNull();
      for (const block of codeBlocks) expect(pages.some((page) => page.includes(block))).toBe(true);
      expect(pages).toEqual(paginate(text, LIMIT));
    }
  });

  it('breaks a long answer of paragraphs at blank lines', () => {
    // Arrange
    const random = prng(5);
    const text = Array.from({ length: 80 }, () => `${words(random, 60 + Math.floor(random() * 60))}.`).join(
      '\n\n',
    );

    // Act
    const pages = paginate(text, LIMIT);

    // Assert
    expect(pages.length).toBeGreaterThan(2);
    expect(pages.join('')).toBe(text);
    for (const page of pages.slice(0, -1)) {
      expect(page.length).toBeLessThanOrEqual(LIMIT);
      expect(page.endsWith('\n\n')).toBe(true);
    }
  });

  it('breaks one long paragraph of many lines at line boundaries', () => {
    const random = prng(6);
    const text = Array.from({ length: 400 }, () => words(random, 15)).join('\n');

    const pages = paginate(text, LIMIT);

    expect(pages.length).toBeGreaterThan(1);
    expect(pages.join('')).toBe(text);
    for (const page of pages.slice(0, -1)) expect(page.endsWith('\n')).toBe(true);
  });

  it('breaks a single huge line at whitespace, marking the continued line with a zero-width space', () => {
    // Arrange
    const text = words(prng(7), 6000);

    // Act
    const ops = streamPages([text], LIMIT);

    // Assert
    const pages = expectValidPages(ops, text, LIMIT);
    expect(pages.length).toBeGreaterThan(1);
    for (const [i, page] of pages.entries()) {
      // A word that fills the message exactly leaves its following space for the next one.
      if (i < pages.length - 1) expect(page.endsWith(' ') || pages[i + 1]?.startsWith(`${Z} `)).toBe(true);
      if (i > 0) expect(page.startsWith(Z)).toBe(true);
    }
  });

  it('cuts a word longer than a message hard, at the limit', () => {
    const text = 'x'.repeat(30_000);

    expect(paginate(text, LIMIT)).toEqual([
      'x'.repeat(12_000),
      `${Z}${'x'.repeat(11_999)}`,
      `${Z}${'x'.repeat(6_001)}`,
    ]);
  });

  it('never cuts a surrogate pair, even when a chunk ends inside one', () => {
    // Arrange
    const text = '😀'.repeat(100);
    const pieces = randomPieces(text, prng(12), 7);

    // Act
    const ops = streamPages(pieces, 33);

    // Assert
    expectValidPages(ops, text, 33);
    for (const op of ops) {
      if (op.type === 'append') expect(op.text).not.toMatch(/[\ud800-\udbff]$|^[\udc00-\udfff]/);
    }
  });

  it('keeps a mid-line remainder that looks like a fence from opening one in the next message', () => {
    // Arrange: a long line whose break lands right before "```".
    const text = `${'word '.repeat(20)}\`\`\` and more words after it\n`;

    // Act
    const pages = paginate(text, 100);

    // Assert
    for (const page of pages) expect(openFenceAtEnd(page)).toBeNull();
    expect(pages.some((page) => page.startsWith(`${Z}\`\`\``))).toBe(true);
  });

  it('splits a 15,000-character code block with fence repairs, each message balanced', () => {
    // Arrange
    const block = codeBlock(prng(8), 15_000, '```', 'python');
    const text = `Here is the script:\n\n${block}\n\nRun it with care.\n`;
    const random = prng(9);

    // Act
    const ops = streamPages(randomPieces(text, random, 300), LIMIT);

    // Assert
    const pages = expectValidPages(ops, text, LIMIT);
    expect(pages).toHaveLength(2);
    expect(pages[0]).toMatch(/\n```$/);
    expect(pages[1]).toMatch(/^```python\n {2}const/);
    for (const page of pages) expect(openFenceAtEnd(page)).toBeNull();
    expect(
      ops.filter((op) => op.type === 'append' && op.repair).map((op) => op.type === 'append' && op.text),
    ).toEqual(['```', '```python\n']);
    expect(pages).toEqual(paginate(text, LIMIT));
  });

  it('reopens a fence whose info string starts with the fence character without lengthening the marker', () => {
    const text = `~~~ ~weird\n${'line of code\n'.repeat(20)}~~~\n`;

    const pages = paginate(text, 100);

    expect(pages.length).toBeGreaterThan(1);
    expect(pages[1]).toMatch(/^~~~ ~weird\n/);
    for (const page of pages) expect(openFenceAtEnd(page)).toBeNull();
  });

  it('closes a fence split mid-line with a newline first', () => {
    const text = `~~~\n${'y'.repeat(100)}\n~~~\n`;

    const pages = paginate(text, 40);

    expect(pages.length).toBeGreaterThan(2);
    expect(pages[0]).toBe(`~~~\n${'y'.repeat(32)}\n~~~`);
    for (const page of pages) {
      expect(page.length).toBeLessThanOrEqual(40);
      expect(openFenceAtEnd(page)).toBeNull();
    }
  });
});

describe('MessagePaginator streaming', () => {
  it('passes text through immediately while the message has room', () => {
    const paginator = new MessagePaginator({ limitChars: LIMIT });

    expect(paginator.push('Hello')).toEqual([{ type: 'append', text: 'Hello' }]);
    expect(paginator.push(' world\n\n```ts\nconst')).toEqual([
      { type: 'append', text: ' world\n\n```ts\nconst' },
    ]);
    expect(paginator.finish()).toEqual([]);
  });

  it('holds a code block that opens in a message more than half full, then appends it when it fits', () => {
    // Arrange
    const paginator = new MessagePaginator({ limitChars: 1000 });
    const intro = `${'a'.repeat(600)}\n\n`;

    // Act / Assert
    expect(paginator.push(intro)).toEqual([{ type: 'append', text: intro }]);
    expect(paginator.push('```sh\nls\n')).toEqual([]);
    expect(paginator.push('```\nafter')).toEqual([{ type: 'append', text: '```sh\nls\n```\nafter' }]);
  });

  it('moves a held code block that cannot fit to the next message, before its fence', () => {
    // Arrange
    const paginator = new MessagePaginator({ limitChars: 1000 });
    const intro = `${'a'.repeat(600)}\n\n`;
    paginator.push(intro);

    // Act
    const ops = paginator.push(`\`\`\`sh\n${'echo hi\n'.repeat(60)}`);

    // Assert
    expect(ops[0]).toEqual({ type: 'break' });
    expect(ops[1]?.type === 'append' && ops[1].text.startsWith('```sh\necho hi\n')).toBe(true);
  });

  it('holds a paragraph when little room is left, so the break lands at its start', () => {
    // Arrange
    const paginator = new MessagePaginator({ limitChars: 1000 });
    paginator.push(`${'a'.repeat(900)}\n\n`);

    // Act
    const held = paginator.push('b'.repeat(50));
    const moved = paginator.push('b'.repeat(60));

    // Assert
    expect(held).toEqual([]);
    expect(moved).toEqual([{ type: 'break' }, { type: 'append', text: 'b'.repeat(110) }]);
  });

  it('gives the same messages as paginate(whole) for any chunking of random answers (property)', () => {
    const random = prng(31);
    for (let round = 0; round < 60; round++) {
      // Arrange
      const limit = 200 + Math.floor(random() * 1800);
      const { text } = longAnswer(round, 3 * limit);
      const whole = paginate(text, limit);

      // Act
      const ops = streamPages(randomPieces(text, random, 1 + Math.floor(random() * 80)), limit);

      // Assert
      const pages = expectValidPages(ops, text, limit);
      expect(pages).toEqual(whole);
      for (const page of pages) expect(openFenceAtEnd(page)).toBeNull();
    }
  });

  it('gives the same messages for every split of a text into two pieces', () => {
    // Arrange
    const { text } = longAnswer(77, 600);
    const limit = 250;
    const whole = paginate(text, limit);

    for (let cut = 0; cut <= text.length; cut++) {
      // Act
      const ops = streamPages([text.slice(0, cut), text.slice(cut)], limit);

      // Assert
      expect(pagesFromOps(ops), `cut at ${cut}`).toEqual(whole);
    }
  });

  it('paginates the renderer output of a streamed answer into safe, balanced messages', () => {
    // Arrange
    const { text } = longAnswer(3, 30_000);
    const answer = `Hi <!channel>!\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n${text}`;
    const renderer = new MarkdownRenderer();
    const paginator = new MessagePaginator({ limitChars: LIMIT });
    const ops: PageOp[] = [];

    // Act
    for (const piece of randomPieces(answer, prng(4), 40)) ops.push(...paginator.push(renderer.push(piece)));
    ops.push(...paginator.push(renderer.finish()), ...paginator.finish());

    // Assert
    const pages = expectValidPages(ops, renderMarkdown(answer), LIMIT);
    for (const page of pages) expect(openFenceAtEnd(page)).toBeNull();
    expect(pages.join('')).not.toMatch(/<[!@#]/);
  });

  it('refuses a limit too small for fence repairs, and text after finish', () => {
    expect(() => new MessagePaginator({ limitChars: 8 })).toThrow(RangeError);
    const paginator = new MessagePaginator({ limitChars: 100 });
    paginator.finish();
    expect(() => paginator.push('x')).toThrow(/after finish/);
  });
});
