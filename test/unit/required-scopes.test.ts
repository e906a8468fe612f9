import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { missingScopes, REQUIRED_BOT_SCOPES } from '../../src/slack/required-scopes.ts';

describe('bot scopes', () => {
  it('match exactly the scopes manifest.yml asks for', () => {
    const manifest = readFileSync(new URL('../../manifest.yml', import.meta.url), 'utf8');
    const botSection = manifest.split(/^\s+bot:\s*$/m)[1]?.split(/^\S/m)[0] ?? '';
    const scopes = [...botSection.matchAll(/^\s+- ([a-z_:.]+)\s*$/gm)].map((m) => m[1]);
    expect(scopes.sort()).toEqual([...REQUIRED_BOT_SCOPES].sort());
  });

  it('names the scopes a token lacks, and says nothing when Slack reports none', () => {
    expect(missingScopes(['chat:write', 'commands'])).toContain('app_mentions:read');
    expect(missingScopes([...REQUIRED_BOT_SCOPES])).toEqual([]);
    expect(missingScopes(undefined)).toBeNull();
  });
});
