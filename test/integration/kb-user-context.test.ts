/**
 * A Knowledge Base with document-level access control retrieves as the person asking: their email
 * (users.info, `users:read.email`) goes as `userContext.userId`, per channel, off by default.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeBedrockAgentRuntime } from '../stand-ins/fake-bedrock-agent-runtime.ts';
import { waitForAnswers } from '../support/answers.ts';
import { type Harness, startHarness } from '../support/bot-harness.ts';

const KB = { BEDROCK_KNOWLEDGE_BASE_ID: 'KB12345678' };
const ADMIN = 'U0001';
const grounded = () => FakeBedrockAgentRuntime.groundedReply([{ text: 'From the documents you may see.' }]);

let harnesses: Harness[] = [];
async function start(env: Record<string, string> = {}): Promise<Harness> {
  const h = await startHarness({ env: { ...KB, SETTINGS_ADMIN_USER_IDS: ADMIN, ...env } });
  harnesses.push(h);
  return h;
}
afterEach(async () => {
  for (const h of harnesses.reverse()) await h.stop();
  harnesses = [];
});

const askedAs = (h: Harness) => h.agent.requests.map((request) => request.userContextUserId ?? null);

describe('Knowledge Base answers with the asker’s rights', () => {
  it('sends each asker’s own email as the user context, in managed mode', async () => {
    const h = await start({ KB_USER_CONTEXT: 'true' });
    h.agent.enqueue(grounded(), grounded());

    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> refunds?' });
    await waitForAnswers(h, 1);
    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0002', text: '<@UBOT> refunds for me?' });
    await waitForAnswers(h, 2);

    expect(askedAs(h)).toEqual(['alice@example.com', 'bob@example.com']);
  });

  it('sends the user context with Retrieve too, and asks Slack for an email once', async () => {
    const h = await start({ KB_USER_CONTEXT: 'true', KB_MODE: 'retrieve' });
    h.agent.enqueue({ retrievalResults: [] }, { retrievalResults: [] });
    h.bedrock.enqueue({ text: 'Five days.' }, { text: 'Still five days.' });

    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0002', text: '<@UBOT> refunds?' });
    await waitForAnswers(h, 1);
    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0002', text: '<@UBOT> and again?' });
    await waitForAnswers(h, 2);

    expect(h.agent.requests.map((r) => [r.operation, r.userContextUserId])).toEqual([
      ['Retrieve', 'bob@example.com'],
      ['Retrieve', 'bob@example.com'],
    ]);
    const emailLookups = h.slack.callsTo('users.info').filter((call) => call.args.user === 'U0002');
    expect(emailLookups.length).toBeLessThanOrEqual(1);
  });

  it('retrieves with the bot’s own rights unless a channel is set to the asker’s', async () => {
    const h = await start();
    h.agent.enqueue(grounded(), grounded());
    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0002', text: '<@UBOT> refunds?' });
    await waitForAnswers(h, 1);

    await h.slack.openAppHome(ADMIN);
    await h.slack.waitFor(() => h.slack.homeViewOf(ADMIN));
    await h.slack.act(ADMIN, 'home', { actionId: 'settings_channel', selectedConversation: 'C0001' });
    await h.slack.waitFor(() => h.slack.homeViewOf(ADMIN)?.private_metadata.includes('C0001'));
    await h.slack.act(ADMIN, 'home', { actionId: 'settings_edit' });
    await h.slack.waitFor(() => h.slack.modalOf(ADMIN));
    await h.slack.submitModal(ADMIN, { kbUserContext: 'asker' });
    await h.slack.waitFor(() => h.logs.some((line) => line.msg === 'channel settings changed'));
    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0002', text: '<@UBOT> and now?' });
    await waitForAnswers(h, 2);

    expect(askedAs(h)).toEqual([null, 'bob@example.com']);
  });

  it('answers without the Knowledge Base when Slack shows no email (the scope is missing)', async () => {
    const slackScopes = ['app_mentions:read', 'chat:write', 'users:read'];
    const h = await startHarness({
      env: { ...KB, KB_USER_CONTEXT: 'true' },
      slackOptions: { grantedScopes: slackScopes },
    });
    harnesses.push(h);
    h.bedrock.enqueue({ text: 'A plain answer.' });

    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0002', text: '<@UBOT> refunds?' });
    await waitForAnswers(h, 1);

    expect(h.agent.requests).toEqual([]);
    expect(h.bedrock.requests).toHaveLength(1);
    expect(h.logs.some((line) => String(line.msg).startsWith('the asker’s email is unknown'))).toBe(true);
  });
});
