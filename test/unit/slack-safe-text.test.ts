import { describe, expect, it } from 'vitest';
import {
  escapeSlackControl,
  SlackSafeTextStream,
  ZERO_WIDTH_SPACE,
} from '../../src/slack/render/slack-safe-text.ts';
import { prng } from '../support/seeded-random.ts';

const Z = ZERO_WIDTH_SPACE;

function streamInChunks(text: string, cuts: readonly number[]): string {
  const stream = new SlackSafeTextStream();
  let out = '';
  let start = 0;
  for (const cut of [...cuts, text.length]) {
    out += stream.push(text.slice(start, cut));
    start = cut;
  }
  return out + stream.finish();
}

function randomCuts(length: number, random: () => number, maxChunk: number): number[] {
  const cuts: number[] = [];
  for (let at = 1 + Math.floor(random() * maxChunk); at < length; at += 1 + Math.floor(random() * maxChunk)) {
    cuts.push(at);
  }
  return cuts;
}

/** What Slack could still read as a control sequence or broadcast, after entity decoding. */
function findLiveControl(text: string): string | null {
  const decoded = text
    .replace(/&#([0-9]{1,10});?/g, (_, digits: string) => String.fromCodePoint(Number(digits) % 0x110000))
    .replace(/&#x([0-9a-f]{1,6});?/gi, (_, hex: string) =>
      String.fromCodePoint(Number.parseInt(hex, 16) % 0x110000),
    )
    .replace(/&lt;?/gi, '<')
    .replace(/&commat;?/gi, '@')
    .replace(/&(?:vert|verbar|VerticalLine);/gi, '|')
    .replace(/\\([!@#|])/g, '$1');
  const match =
    /<[!@#]/.exec(decoded) ??
    /<[a-z][a-z0-9+.-]*:[^>\s]*\|/i.exec(decoded) ??
    /(?:^|[^A-Za-z0-9_])@(?:here|channel|everyone)/i.exec(decoded);
  return match ? match[0] : null;
}

const CONTROL_SEQUENCES = [
  '<!channel>',
  '<!here>',
  '<!everyone>',
  '<!subteam^S1>',
  '<!subteam^S1|@team>',
  '<!date^1392734382^{date}|Feb 18>',
  '<@U123>',
  '<@U123|bob>',
  '<#C123>',
  '<#C123|general>',
  '<https://evil.example|click>',
  '<http://evil.example|click here>',
  '<mailto:a@evil.example|mail>',
  '<slack://open?team=T1|open>',
  '<HTTPS://evil.example|click>',
  '<https://evil.example&#124;click>',
  '<https://evil.example&#x7C;click>',
  '<https://evil.example&vert;click>',
  '<https://evil.example\\|click>',
  '@here',
  '@channel',
  '@everyone',
  '@HERE',
  '&lt;!channel&gt;',
  '&LT;@U123&GT;',
  '&#60;#C1&#62;',
  '&#x3C;!here>',
  '&#x3c;https://evil.example|x&gt;',
  '&commat;here',
  '&#64;channel',
  '&#x40;everyone',
  '<\\!here>',
  '<&#33;here>',
  '@&#104;ere',
] as const;

describe('escapeSlackControl', () => {
  it.each(CONTROL_SEQUENCES)('faces a live sequence in the raw text %s (the check can fail)', (sequence) => {
    expect(findLiveControl(`Heads up ${sequence} please`)).not.toBeNull();
  });

  it.each(CONTROL_SEQUENCES)('neutralises %s so that nothing live remains', (sequence) => {
    // Arrange
    const text = `Heads up ${sequence} please`;

    // Act
    const escaped = escapeSlackControl(text);

    // Assert
    expect(findLiveControl(escaped)).toBeNull();
    expect(escaped).toContain(Z);
    expect(escaped.replaceAll(Z, '')).toBe(text);
  });

  it('inserts the zero-width space right after the opener', () => {
    expect(escapeSlackControl('<!channel>')).toBe(`<${Z}!channel>`);
    expect(escapeSlackControl('<@U123>')).toBe(`<${Z}@U123>`);
    expect(escapeSlackControl('@here')).toBe(`@${Z}here`);
    expect(escapeSlackControl('&lt;!here&gt;')).toBe(`&lt;${Z}!here&gt;`);
    expect(escapeSlackControl('<https://evil.example|click>')).toBe(`<${Z}https://evil.example|click>`);
  });

  it('leaves Markdown links and plain autolinks as links', () => {
    const text =
      'See [the docs](https://docs.example/a?b=c|d) or <https://docs.example/page> or <mailto:a@b.example>.';

    expect(escapeSlackControl(text)).toBe(text);
  });

  it('leaves ordinary angle brackets, comparisons, e-mail addresses and code alone', () => {
    const text =
      'a < b, x <= y, Vec<T>, <div class="x">, ops@here.example, me@channel.io, `std::map<int, int>`';

    expect(escapeSlackControl(text)).toBe(text);
  });

  it('neutralises a scheme-like sequence that is cut off before a closing bracket', () => {
    expect(escapeSlackControl('<https://evil.example')).toBe(`<${Z}https://evil.example`);
  });

  it('is idempotent', () => {
    const once = escapeSlackControl(CONTROL_SEQUENCES.join(' '));

    expect(escapeSlackControl(once)).toBe(once);
  });

  it('keeps no live control sequence in random mixtures of tricky fragments', () => {
    // Arrange
    const fragments = [
      '<',
      '!',
      '@',
      '#',
      '&',
      'lt;',
      '&lt;',
      'here',
      'channel',
      'https:',
      '//x',
      '|',
      '>',
      ' ',
      'U1',
      '\\',
      '#60;',
      '#x40;',
      'commat;',
      'a',
    ];
    const random = prng(7);

    for (let round = 0; round < 2000; round++) {
      const length = 1 + Math.floor(random() * 12);
      const text = Array.from({ length }, () => fragments[Math.floor(random() * fragments.length)]).join('');

      // Act
      const escaped = escapeSlackControl(text);

      // Assert
      expect(findLiveControl(escaped), JSON.stringify(text)).toBeNull();
      expect(escaped.replaceAll(Z, '')).toBe(text);
    }
  });
});

describe('SlackSafeTextStream', () => {
  it('holds back a trailing "<" until the next character decides', () => {
    const stream = new SlackSafeTextStream();

    expect(stream.push('Ping <')).toBe('Ping ');
    expect(stream.push('!channel> now')).toBe(`<${Z}!channel> now`);
    expect(stream.finish()).toBe('');
  });

  it('holds back a partial broadcast word and releases it once it is decided', () => {
    const stream = new SlackSafeTextStream();

    expect(stream.push('hi @ch')).toBe('hi ');
    expect(stream.push('eese')).toBe('@cheese');
  });

  it('releases a held partial at finish', () => {
    const stream = new SlackSafeTextStream();

    expect(stream.push('a <')).toBe('a ');
    expect(stream.finish()).toBe('<');
  });

  it.each(CONTROL_SEQUENCES)('neutralises %s however it is split into two deltas', (sequence) => {
    const text = `x ${sequence} y`;
    const whole = escapeSlackControl(text);

    for (let cut = 0; cut <= text.length; cut++) {
      const streamed = streamInChunks(text, [cut]);

      expect(streamed, `cut at ${cut}`).toBe(whole);
      expect(findLiveControl(streamed)).toBeNull();
    }
  });

  it('gives the same text as the whole-text escape for one character at a time and random chunkings', () => {
    // Arrange
    const text = `${CONTROL_SEQUENCES.join(' and ')} [link](https://ok.example) <https://ok.example> ${'plain text '.repeat(20)}`;
    const whole = escapeSlackControl(text);
    const random = prng(42);

    // Act / Assert
    expect(
      streamInChunks(
        text,
        Array.from({ length: text.length - 1 }, (_, i) => i + 1),
      ),
    ).toBe(whole);
    for (let round = 0; round < 300; round++) {
      expect(streamInChunks(text, randomCuts(text.length, random, 1 + Math.floor(random() * 20)))).toBe(
        whole,
      );
    }
  });

  it('refuses text after finish', () => {
    const stream = new SlackSafeTextStream();
    stream.finish();

    expect(() => stream.push('x')).toThrow(/after finish/);
  });
});
