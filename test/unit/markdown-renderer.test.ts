import { Lexer, type Token, type Tokens } from 'marked';
import { describe, expect, it } from 'vitest';
import {
  MarkdownRenderer,
  type MarkdownRendererOptions,
  renderMarkdown,
} from '../../src/slack/render/markdown-renderer.ts';
import { ZERO_WIDTH_SPACE } from '../../src/slack/render/slack-safe-text.ts';
import { prng, randomPieces } from '../support/seeded-random.ts';

const Z = ZERO_WIDTH_SPACE;

const TRUSTING_EXAMPLE_COM = { trustedLinkHosts: ['example.com'] };

function renderInPieces(
  pieces: readonly string[],
  options: MarkdownRendererOptions = {},
): { outputs: string[]; text: string } {
  const renderer = new MarkdownRenderer(options);
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
  it('passes headings, lists, emphasis, links to trusted hosts, quotes and code through unchanged', () => {
    expect(renderMarkdown(ORDINARY_MARKDOWN, TRUSTING_EXAMPLE_COM)).toBe(ORDINARY_MARKDOWN);
  });

  it('keeps a link to a trusted host unchanged, whole and streamed a character at a time', () => {
    const text = 'Read [the refund policy](https://example.com/refunds?x=1&y=2#top) first.';

    expect(renderMarkdown(text, TRUSTING_EXAMPLE_COM)).toBe(text);
    expect(renderInPieces([...text], TRUSTING_EXAMPLE_COM).text).toBe(text);
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

  it('renders a table with links as a list so the links stay clickable, showing their hosts', () => {
    const text = '| Doc | Link |\n|---|---|\n| Guide | [open](https://example.com/guide) |\n';

    expect(renderMarkdown(text)).toBe(
      '- **Doc:** Guide · **Link:** [open (example.com)](https://example.com/guide)\n',
    );
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

describe('links cannot hide their target', () => {
  it('shows the host next to a label that is not the link’s own URL', () => {
    expect(renderMarkdown('See [handbook](https://evil.example/x).')).toBe(
      'See [handbook (evil.example)](https://evil.example/x).',
    );
  });

  it('trusts an allow-listed host and its subdomains, not hosts that merely end like it', () => {
    const trusted = { trustedLinkHosts: ['example.com'] };

    expect(renderMarkdown('[a](https://example.com/x)', trusted)).toBe('[a](https://example.com/x)');
    expect(renderMarkdown('[a](https://docs.example.com/x)', trusted)).toBe(
      '[a](https://docs.example.com/x)',
    );
    expect(renderMarkdown('[a](https://notexample.com/)', trusted)).toBe(
      '[a (notexample.com)](https://notexample.com/)',
    );
    expect(renderMarkdown('[a](https://example.com.evil.example/)', trusted)).toBe(
      '[a (example.com.evil.example)](https://example.com.evil.example/)',
    );
  });

  it('shows the real host behind user info, case, IDN look-alikes, escapes and entities', () => {
    const trusted = { trustedLinkHosts: ['example.com'] };

    expect(renderMarkdown('[docs](https://docs.example.com@evil.example/)', trusted)).toBe(
      '[docs (evil.example)](https://docs.example.com@evil.example/)',
    );
    expect(renderMarkdown('[a](HTTPS://EVIL.Example/X)')).toBe('[a (evil.example)](HTTPS://EVIL.Example/X)');
    expect(renderMarkdown('[bank](https://b\u0430nk.example/)')).toContain('[bank (xn--bnk-');
    expect(renderMarkdown('[a](https://evil&#46;example/)')).toBe(
      '[a (evil.example)](https://evil&#46;example/)',
    );
    expect(renderMarkdown('[a](https://evil\\.example/)')).toBe(
      '[a (evil.example)](https://evil\\.example/)',
    );
  });

  it('leaves a label alone that already shows the link’s host', () => {
    const honest = [
      '[https://evil.example/x](https://evil.example/x)',
      '[evil.example](https://evil.example/)',
      '[evil.example/guide](https://evil.example/guide?x=1)',
      '[help@evil.example](mailto:help@evil.example)',
    ];

    for (const text of honest) expect(renderMarkdown(text)).toBe(text);
  });

  it('discloses a label that names another host, even as a URL', () => {
    expect(renderMarkdown('[https://good.example](https://evil.example/)')).toBe(
      '[https://good.example (evil.example)](https://evil.example/)',
    );
    expect(renderMarkdown('[good.example@evil.example](https://good.example@evil.example/)')).toBe(
      '[good.example@evil.example (evil.example)](https://good.example@evil.example/)',
    );
  });

  it('reads every destination form: angle brackets, titles, nested parentheses, a line break', () => {
    // The escaper also breaks `<https:` followed by a space; the label has its host either way.
    expect(renderMarkdown('[a](<https://evil.example/a b>)')).toContain('[a (evil.example)](<');
    expect(renderMarkdown('[a](https://evil.example "Title")')).toBe(
      '[a (evil.example)](https://evil.example "Title")',
    );
    expect(renderMarkdown("[a](https://evil.example 'T')")).toBe(
      "[a (evil.example)](https://evil.example 'T')",
    );
    expect(renderMarkdown('[a](https://evil.example/x_(y))')).toBe(
      '[a (evil.example)](https://evil.example/x_(y))',
    );
    expect(renderMarkdown('[a](\nhttps://evil.example\n"T")')).toBe(
      '[a (evil.example)](\nhttps://evil.example\n"T")',
    );
    expect(renderMarkdown('[a [b] c](https://evil.example)')).toBe(
      '[a [b] c (evil.example)](https://evil.example)',
    );
  });

  it('discloses images, mail links and relative targets too', () => {
    expect(renderMarkdown('![logo](https://evil.example/l.png)')).toBe(
      '![logo (evil.example)](https://evil.example/l.png)',
    );
    expect(renderMarkdown('[write to us](mailto:help@evil.example)')).toBe(
      '[write to us (help@evil.example)](mailto:help@evil.example)',
    );
    expect(renderMarkdown('[admin](/admin)')).toBe('[admin (/admin)](/admin)');
    expect(renderMarkdown('[](https://evil.example)')).toBe('[(evil.example)](https://evil.example)');
  });

  it('breaks what is not a valid inline link, so no lenient reader can make one of it', () => {
    const cases = [
      '[1](see above)',
      '[a](https://evil.example/x y)',
      '[a](https://evil&period;example)',
      '[a]()',
      '[a\\](https://evil.example)',
    ];

    for (const text of cases) {
      const rendered = renderMarkdown(text);
      expect(rendered).toBe(text.replace('](', `]${Z}(`));
    }
  });

  it('turns reference definitions into plain text, so reference-style links cannot resolve', () => {
    const text =
      'See [docs][1] or [docs].\n\n[1]: https://evil.example\n[docs]: <https://evil.example> "x"\n';

    expect(renderMarkdown(text)).toBe(
      `See [docs][1] or [docs].\n\n[1]${Z}: https://evil.example\n[docs]${Z}: <https://evil.example> "x"\n`,
    );
  });

  it('keeps Slack-style links neutralised and autolinks as they are', () => {
    expect(renderMarkdown('<https://evil.example|handbook>')).toBe(`<${Z}https://evil.example|handbook>`);
    expect(renderMarkdown('[<https://evil.example|x>](https://evil.example)')).toBe(
      `[<${Z}https://evil.example|x> (evil.example)](https://evil.example)`,
    );
    expect(renderMarkdown('<https://evil.example/x>')).toBe('<https://evil.example/x>');
  });

  it('still escapes mentions and broadcasts inside a disclosed label', () => {
    expect(renderMarkdown('[<!channel> @here](https://evil.example)')).toBe(
      `[<${Z}!channel> @${Z}here (evil.example)](https://evil.example)`,
    );
  });

  it('leaves links in a fenced code block alone', () => {
    const text =
      'Like this:\n\n```md\n[a](https://evil.example)\n[1]: x\n```\n\n- in a list:\n\n  ~~~\n  [a](https://evil.example)\n  ~~~\n';

    expect(renderMarkdown(text)).toBe(text);
  });

  it('keeps code in a fenced block exactly as written, calls on array elements included', () => {
    const text = '```js\nhandlers[type](event);\n[a](https://evil.example)\n```\n';

    expect(renderMarkdown(text)).toBe(text);
  });

  it('breaks link syntax invisibly in what looks like a code span, since spans pair up unreliably', () => {
    expect(renderMarkdown('Call `handlers[type](event)` or `[a](https://evil.example)`.')).toBe(
      `Call \`handlers[type]${Z}(event)\` or \`[a]${Z}(https://evil.example)\`.`,
    );
  });

  it('discloses links where a Markdown reader sees no code: deep or outdented fences', () => {
    // Four spaces after a paragraph line continue the paragraph: no fence at all.
    expect(renderMarkdown('Hi\n    ```\n    [a](https://evil.example)\n')).toContain('[a (evil.example)]');
    // A line left of its fence ends the list item holding it, and the fence with it.
    expect(renderMarkdown('- x\n\n  ```\n  code\nb\n  [a](https://evil.example)\n')).toContain(
      '[a (evil.example)]',
    );
  });

  it('does not take a link inside a would-be target for part of that target', () => {
    expect(renderMarkdown('x]( "t"[a](https://evil.example/x))')).toBe(
      `x]${Z}( "t"[a (evil.example)](https://evil.example/x))`,
    );
  });

  it('releases a label as it arrives and holds only the target, then the whole link', () => {
    const renderer = new MarkdownRenderer();

    expect(renderer.push('See [hand')).toBe('See [hand');
    expect(renderer.push('book](https://evil.ex')).toBe('book');
    expect(renderer.push('ample/x) now')).toBe(' (evil.example)](https://evil.example/x) now');
    expect(renderer.finish()).toBe('');
  });

  it('gives the whole-text result for every split of an answer full of links', () => {
    // Arrange
    const text = [
      'Intro [a](https://evil.example/x "t") and ![i](<https://e.example/a b>) `[c](d)`',
      '[https://evil.example](https://evil.example) [1](see) [x][1]',
      '',
      '[1]: https://evil.example',
      '```',
      '[a](https://evil.example)',
      '```',
      '| Doc | Link |',
      '|---|---|',
      '| G | [open](https://evil.example/g) |',
    ].join('\n');
    const whole = renderMarkdown(text);

    for (let first = 0; first <= text.length; first++) {
      // Act / Assert
      expect(renderInPieces(splitAt(text, [first])).text, `cut at ${first}`).toBe(whole);
      const second = Math.min(text.length, first + 1 + (first % 5));
      expect(renderInPieces(splitAt(text, [first, second])).text, `cuts at ${first}, ${second}`).toBe(whole);
    }
    expect(whole).toContain('[a (evil.example)](https://evil.example/x "t")');
    expect(whole).toContain('[open (evil.example)](https://evil.example/g)');
  });
});

describe('links cannot hide their target (property, read back with a real Markdown lexer)', () => {
  const FRAGMENTS = [
    '[a](https://evil.example/x)',
    '[b](<https://evil.example/y>)',
    '![i](https://evil.example/i.png "t")',
    '[1]: https://evil.example/ref',
    '[x][1]',
    '[1]',
    '<https://evil.example/auto>',
    '[',
    ']',
    '](',
    '(https://evil.example)',
    ')',
    '`',
    '``',
    '\\',
    '\\[',
    ' "t"',
    '&#46;',
    'https://evil.example',
    'evil',
    ' ',
    'text ',
    '\n',
    '\n\n',
    '```\n',
    '    ```\n',
    '  ~~~\n',
    '- ',
    '> ',
    '| a | [l](https://evil.example/t) |\n|---|---|\n',
  ];

  /** Every link and image marked finds, with its label source and target. */
  function linksIn(markdown: string): Array<{ text: string; href: string }> {
    const found: Array<{ text: string; href: string }> = [];
    const walk = (tokens: readonly Token[]) => {
      for (const token of tokens) {
        if (token.type === 'link' || token.type === 'image') {
          found.push({ text: (token as Tokens.Link).text, href: (token as Tokens.Link).href });
        }
        const children = (token as { tokens?: Token[] }).tokens;
        if (children) walk(children);
        if (token.type === 'list') for (const item of (token as Tokens.List).items) walk(item.tokens);
        if (token.type === 'table') {
          const table = token as Tokens.Table;
          for (const cell of [...table.header, ...table.rows.flat()]) walk(cell.tokens);
        }
      }
    };
    walk(new Lexer({ gfm: true }).lex(markdown));
    return found;
  }

  it('leaves no link whose label hides an untrusted host, however the answer is cut', () => {
    // Arrange
    const random = prng(11);
    for (let round = 0; round < 300; round++) {
      const text = Array.from(
        { length: 5 + Math.floor(random() * 30) },
        () => FRAGMENTS[Math.floor(random() * FRAGMENTS.length)],
      ).join('');

      // Act
      const whole = renderMarkdown(text);
      const streamed = renderInPieces(randomPieces(text, random, 1 + Math.floor(random() * 12))).text;

      // Assert
      expect(streamed, JSON.stringify(text)).toBe(whole);
      for (const link of linksIn(whole)) {
        let host: string | null = null;
        try {
          host = new URL(link.href).hostname;
        } catch {
          host = null;
        }
        if (host) expect(link.text, `${JSON.stringify(text)} → ${JSON.stringify(whole)}`).toContain(host);
      }
    }
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
