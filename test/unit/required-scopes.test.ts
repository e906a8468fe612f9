import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SUBSCRIBED_EVENTS } from '../../src/slack/listeners/index.ts';
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

describe('event subscriptions', () => {
  it('in manifest.yml are exactly the events the bot listens to', () => {
    const manifest = parse(readFileSync(new URL('../../manifest.yml', import.meta.url), 'utf8')) as {
      settings: { event_subscriptions: { bot_events: string[] } };
    };
    expect([...manifest.settings.event_subscriptions.bot_events].sort()).toEqual(
      [...SUBSCRIBED_EVENTS].sort(),
    );
  });
});
