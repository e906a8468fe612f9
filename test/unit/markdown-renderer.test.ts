import { describe, expect, it } from 'vitest';
import { MarkdownRenderer, renderMarkdown } from '../../src/slack/render/markdown-renderer.ts';
import { ZERO_WIDTH_SPACE } from '../../src/slack/render/slack-safe-text.ts';
import { prng, randomPieces } from '../support/seeded-random.ts';

const Z = ZERO_WIDTH_SPACE;

function renderInPieces(pieces: readonly string[]): { outputs: string[]; text: string } {
  const renderer = new MarkdownRenderer();
  const outputs = pieces.map((piece) => renderer.push(piece));
  outputs.push(renderer.finish());
  return { outputs, text: outputs.join('') };
}

function splitAt(text: string, cuts: readonly number[]): string[] {
  const pieces: string[] = [];
  let start = 0;
  for (const cut of [...cuts, text.length]) {
    pieces.push(text.slice(start, cut));
    start = cut;
  }
  return pieces;
}

const ORDINARY_MARKDOWN = [
  '# Refunds',
  '',
  'Refunds are **usually** processed in _five_ days, ~~not ten~~. See [the policy](https://example.com/refunds).',
  '',
  '## Steps',
  '',
  '1. Open the order.',
  '2. Click *Refund*.',
  '   - Partial refunds work too.',
  '',
  '> Note: a quoted remark with `inline code`.',
  '',
  '```ts',
  'const total = items.reduce((sum, item) => sum + item.price, 0);',
  '```',
  '',
  'Autolink: <https://example.com/docs>, and a comparison a < b.',
].join('\n');

const TABLE = [
  '| Plan | Price | Seats |',
  '|:-----|------:|:-----:|',
  '| **Free** | 0 | 1 |',
  '| Team | 12 | 10 |',
  '',
].join('\n');

const TABLE_AS_CODE = [
  '```',
  'Plan | Price | Seats',
  '-----+-------+------',
  'Free |     0 |   1',
  'Team |    12 |  10',
  '```',
  '',
].join('\n');

describe('renderMarkdown', () => {
  it('passes headings, lists, emphasis, links, quotes and code through unchanged', () => {
    expect(renderMarkdown(ORDINARY_MARKDOWN)).toBe(ORDINARY_MARKDOWN);
  });

  it('keeps a Markdown link unchanged, whole and streamed a character at a time', () => {
    const text = 'Read [the refund policy](https://example.com/refunds?x=1&y=2#top) first.';

    expect(renderMarkdown(text)).toBe(text);
    expect(renderInPieces([...text]).text).toBe(text);
  });

  it('normalises CRLF and lone CR to LF', () => {
    expect(renderMarkdown('one\r\ntwo\rthree\r\n')).toBe('one\ntwo\nthree\n');
  });

  it('turns a narrow table into an aligned code block without inline Markdown', () => {
    expect(renderMarkdown(TABLE)).toBe(TABLE_AS_CODE);
  });

  it('turns a wide table into one list item per row, labelled by header', () => {
    // Arrange
    const long = 'a fairly long description that, with its name column, does not fit in eighty columns';
    const text = `| Name | Description |\n|---|---|\n| Alpha | ${long} |\n| Beta | *short* |\n`;

    // Act
    const rendered = renderMarkdown(text);

    // Assert
    expect(rendered).toBe(
      `- **Name:** Alpha · **Description:** ${long}\n- **Name:** Beta · **Description:** *short*\n`,
    );
  });

  it('renders a table with links as a list so the links stay clickable', () => {
    const text = '| Doc | Link |\n|---|---|\n| Guide | [open](https://example.com/guide) |\n';

    expect(renderMarkdown(text)).toBe('- **Doc:** Guide · **Link:** [open](https://example.com/guide)\n');
  });

  it('reads escaped pipes, <br> and ragged rows the way marked does', () => {
    const text = '| Key | Value |\n|---|---|\n| a \\| b | one<br>two |\n| only |\n';

    expect(renderMarkdown(text)).toBe(
      ['```', 'Key   | Value', '------+--------', 'a | b | one two', 'only  |', '```', ''].join('\n'),
    );
  });

  it('keeps a table apart from the paragraphs around it', () => {
    const text = `Prices:\n${TABLE.trimEnd()}\nThat is all.\n`;

    expect(renderMarkdown(text)).toBe(`Prices:\n\n${TABLE_AS_CODE}\nThat is all.\n`);
  });

  it('releases lines starting with "|" unchanged when no delimiter row follows', () => {
    const text = '| just a line |\n| another | one |\nplain\n|---|\n';

    expect(renderMarkdown(text)).toBe(text);
  });

  it('does not touch a table inside a fenced code block, with ``` or ~~~ and an info string', () => {
    const backticks = `\`\`\`markdown title="x"\n${TABLE}\`\`\`\n`;
    const tildes = `~~~~md\n${TABLE}~~~\n~~~~\n`;

    expect(renderMarkdown(backticks)).toBe(backticks);
    expect(renderMarkdown(tildes)).toBe(tildes);
  });

  it('renders a table that ends the answer without a final newline', () => {
    expect(renderMarkdown(TABLE.trimEnd())).toBe(TABLE_AS_CODE.trimEnd());
  });

  it('neutralises control sequences in text, in table cells and in code', () => {
    // Arrange
    const text = [
      'Tell <!channel> and @here.',
      '',
      '| Who | Ping |',
      '|---|---|',
      '| all | <!everyone> |',
      '',
      '```html',
      '<!DOCTYPE html> <@U123>',
      '```',
    ].join('\n');

    // Act
    const rendered = renderMarkdown(text);

    // Assert
    expect(rendered).toContain(`<${Z}!channel>`);
    expect(rendered).toContain(`@${Z}here`);
    expect(rendered).toContain(`<${Z}!everyone>`);
    expect(rendered).toContain(`<${Z}!DOCTYPE html> <${Z}@U123>`);
    expect(rendered).not.toMatch(/<[!@#]/);
  });
});

describe('MarkdownRenderer streaming', () => {
  it('releases ordinary paragraph text as it arrives', () => {
    // Arrange
    const text = 'Refunds take five days.\nMost are faster.\n\nAsk again if not.';
    const renderer = new MarkdownRenderer();
    let released = '';

    for (let end = 1; end <= text.length; end++) {
      // Act
      released += renderer.push(text[end - 1] ?? '');

      // Assert
      expect(released).toBe(text.slice(0, end));
    }
  });

  it('holds a line starting with "|" until it ends, then a table until it ends', () => {
    const renderer = new MarkdownRenderer();

    expect(renderer.push('Intro\n\n| Plan | Price')).toBe('Intro\n\n');
    expect(renderer.push(' | Seats |\n|:-----|------:|:-----:|\n| **Free** | 0 | 1 |\n')).toBe('');
    expect(renderer.push('| Team | 12 | 10 |\n\nAfter')).toBe(`${TABLE_AS_CODE}\nAfter`);
    expect(renderer.finish()).toBe('');
  });

  it('renders a table streamed row by row the same as the whole table', () => {
    const rows = TABLE.split(/(?<=\n)/);

    expect(renderInPieces(rows).text).toBe(renderMarkdown(TABLE));
    expect(renderInPieces(rows).text).toBe(TABLE_AS_CODE);
  });

  it('handles CRLF split across deltas', () => {
    expect(renderInPieces(['a\r', '\nb\r', '', '\r\nc\r']).text).toBe('a\nb\n\nc\n');
  });

  it('neutralises control sequences split across deltas at every position', () => {
    // Arrange
    const text = 'x <!channel> <@U123> <!subteam^S1> <https://evil.example|click> @here y';
    const whole = renderMarkdown(text);

    for (let cut = 0; cut <= text.length; cut++) {
      // Act
      const streamed = renderInPieces(splitAt(text, [cut])).text;

      // Assert
      expect(streamed, `cut at ${cut}`).toBe(whole);
      expect(streamed).not.toMatch(/<[!@#]|<https:|@here/);
    }
  });

  it('gives renderMarkdown(whole) for every split into two or three pieces of a mixed answer', () => {
    // Arrange
    const text = `Intro <!here>\r\n${TABLE}| nope |\n\`\`\`\n| a | b |\n|---|---|\n\`\`\`\nEnd @channel`;
    const whole = renderMarkdown(text);

    for (let first = 0; first <= text.length; first++) {
      // Act / Assert
      expect(renderInPieces(splitAt(text, [first])).text, `cut at ${first}`).toBe(whole);
      const second = Math.min(text.length, first + 1 + (first % 7));
      expect(renderInPieces(splitAt(text, [first, second])).text, `cuts at ${first}, ${second}`).toBe(whole);
    }
  });

  it('gives renderMarkdown(whole) for random chunkings of a long answer (property)', () => {
    // Arrange
    const random = prng(2024);
    const blocks = [
      ORDINARY_MARKDOWN,
      TABLE,
      '| Name | Description |\n|---|---|\n| A | a very long cell that pushes the table beyond eighty columns wide |\n',
      'Mention <@U42> or <!subteam^S9|@oncall> &lt;!here&gt;',
      '~~~python\n| x | y |\n|---|---|\n~~~',
      '| stray pipe line |',
      'Windows line\r\nendings\r\n',
    ];
    const text = Array.from({ length: 60 }, () => blocks[Math.floor(random() * blocks.length)]).join('\n\n');
    const whole = renderMarkdown(text);

    for (let round = 0; round < 200; round++) {
      // Act
      const streamed = renderInPieces(randomPieces(text, random, 1 + Math.floor(random() * 64))).text;

      // Assert
      expect(streamed).toBe(whole);
    }
    expect(whole).not.toMatch(/<[!@#]|\r/);
  });

  it('refuses deltas after finish', () => {
    const renderer = new MarkdownRenderer();
    renderer.finish();

    expect(() => renderer.push('x')).toThrow(/after finish/);
  });
});
