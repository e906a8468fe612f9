/**
 * The shape of the code: the core (src/conversation) owns its ports and imports no adapter; the
 * model adapter knows nothing of the store or Slack; Slack output knows nothing of Bedrock. Read
 * from the import statements themselves, so a stray import fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

/** Every `src/…` file each file imports (static imports, re-exports and dynamic imports). */
const imports = new Map(
  sourceFiles(src).map((file) => {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(/(?:from|import\()\s*'(\.[^']+)'/g)].map((m) =>
      relative(src, normalize(join(dirname(file), m[1] ?? ''))),
    );
    return [relative(src, file), targets] as const;
  }),
);

function importsOf(folder: string): Array<[string, string]> {
  return [...imports].flatMap(([file, targets]) =>
    file.startsWith(`${folder}/`) ? targets.map((target) => [file, target] as [string, string]) : [],
  );
}

describe('the import graph', () => {
  it('keeps the core free of adapters: it imports its own ports, configuration, errors, logs and metrics', () => {
    const allowed = /^(conversation\/|config\.ts$|errors\.ts$|logger\.ts$|metrics\.ts$)/;
    expect(importsOf('conversation').filter(([, target]) => !allowed.test(target))).toEqual([]);
  });

  it('keeps the model adapter out of the store and Slack', () => {
    expect(importsOf('bedrock').filter(([, target]) => /^(store|slack|http)\//.test(target))).toEqual([]);
  });

  it('keeps Slack output out of Bedrock and the store', () => {
    expect(importsOf('slack').filter(([, target]) => /^(bedrock|store)\//.test(target))).toEqual([]);
  });

  it('keeps the store out of Bedrock and Slack', () => {
    expect(importsOf('store').filter(([, target]) => /^(bedrock|slack)\//.test(target))).toEqual([]);
  });

  it('keeps the wiring in the composition root: only bot.ts and the builders themselves import src/wiring', () => {
    const importers = [...imports]
      .filter(
        ([file, targets]) => !file.startsWith('wiring/') && targets.some((t) => t.startsWith('wiring/')),
      )
      .map(([file]) => file);
    expect(importers).toEqual(['bot.ts']);
  });

  it('keeps channel knowledge on its ports: src/knowledge imports the ports, logs and its own folder, no adapter', () => {
    const allowed = /^(conversation\/(knowledge-ports|ports)\.ts$|knowledge\/|logger\.ts$|errors\.ts$)/;
    expect(importsOf('knowledge').filter(([, target]) => !allowed.test(target))).toEqual([]);
  });

  it('has the ports where the core is', () => {
    expect(imports.has('conversation/ports.ts')).toBe(true);
    expect(imports.has('bedrock/answer-model.ts')).toBe(false);
    expect(imports.has('store/conversation-store.ts')).toBe(false);
  });
});
