/**
 * The longest-function check (scripts/long-functions.ts) measures each function from its first
 * line to its closing brace and names it by where it stands, which is how its exceptions are keyed.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { functionsOf } from '../../scripts/long-functions.ts';

describe('the longest-function check', () => {
  it('names methods, nested functions and callbacks by where they stand, and counts their lines', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'long-functions-')), 'sample.ts');
    writeFileSync(
      file,
      [
        'export class Desk {',
        '  #sync(): void {',
        '    const report = () => {',
        '      return 1;',
        '    };',
        '  }',
        '}',
        'export function startBot(app: { event(f: () => void): void }): void {',
        '  app.event(() => {});',
        '}',
      ].join('\n'),
    );

    const found = functionsOf(file).map((fn) => [fn.key.split('#').slice(1).join('#'), fn.lines]);

    expect(found).toEqual([
      ['Desk.#sync', 5],
      ['Desk.#sync > report', 3],
      ['startBot', 3],
      ['startBot > app.event(…) callback', 1],
    ]);
  });
});
