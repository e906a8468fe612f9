import { afterEach, describe, expect, it } from 'vitest';
import { ZERO_WIDTH_SPACE } from '../../src/slack/render/slack-safe-text.ts';
import { threadText, waitForAnswers } from '../support/answers.ts';
import { type Harness, startHarness } from '../support/bot-harness.ts';

let h: Harness;
afterEach(async () => {
  await h?.stop();
});

const ANSWER = [
  'Read the [handbook](https://evil.example/x) first.',
  '',
  'The [expense policy](https://docs.example.com/expenses) has the details,',
  'and [old notes][1] are elsewhere. Or <https://evil.example/y|the wiki>.',
  '',
  '[1]: https://evil.example/notes',
].join('\n');

async function ask(h: Harness): Promise<string> {
  h.bedrock.enqueue({ text: ANSWER.split(/(?<= )/), chunkDelayMs: 5 });
  const sent = await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> policy?' });
  await waitForAnswers(h, 1);
  return threadText(h, 'C0001', sent.ts);
}

describe('links in answers cannot hide where they go', () => {
  for (const streaming of ['native', 'update'] as const) {
    it(`shows an untrusted link's host next to its label, not an allow-listed one (${streaming})`, async () => {
      h = await startHarness({ env: { SLACK_STREAMING: streaming, TRUSTED_LINK_HOSTS: 'example.com' } });

      const shown = await ask(h);

      expect(shown).toContain('[handbook (evil.example)](https://evil.example/x)');
      expect(shown).toContain('[expense policy](https://docs.example.com/expenses)');
      // A reference definition and a Slack-style link stay text that shows its target.
      expect(shown).toContain(`[1]${ZERO_WIDTH_SPACE}: https://evil.example/notes`);
      expect(shown).toContain(`<${ZERO_WIDTH_SPACE}https://evil.example/y|the wiki>`);
    });
  }

  it('posts answers with link and media unfurling off', async () => {
    h = await startHarness({ env: { SLACK_STREAMING: 'update' } });

    await ask(h);

    const posts = h.slack.callsTo('chat.postMessage');
    expect(posts.length).toBeGreaterThan(0);
    for (const post of posts)
      expect(post.args).toMatchObject({ unfurl_links: 'false', unfurl_media: 'false' });
  });

  it('turns unfurling off too when a refused stream start falls back to posting', async () => {
    h = await startHarness();
    h.slack.failNext('chat.startStream', { error: 'channel_type_not_supported' });

    await ask(h);

    // chat.startStream and chat.update take no unfurl options; the post that replaces the stream does.
    expect(h.slack.callsTo('chat.postMessage')).toMatchObject([
      { args: { unfurl_links: 'false', unfurl_media: 'false' } },
    ]);
  });
});
