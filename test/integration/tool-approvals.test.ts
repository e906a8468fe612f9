/**
 * A tool with side effects waits for a person: the thread shows what it would do, with Approve and
 * Deny that only the asker may use; the paused turn lives in Redis, so the click works on any
 * replica and after a restart, and the turn goes on where it stopped.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeMcpServer } from '../stand-ins/fake-mcp-server.ts';
import type { FakeMessage } from '../stand-ins/fake-slack.ts';
import { answerLogs, threadText, waitForAnswers } from '../support/answers.ts';
import { type Harness, startHarness } from '../support/bot-harness.ts';
import { testRedisEnv } from '../support/test-redis.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp(extraConfig = '') {
  const mcp = await FakeMcpServer.start();
  cleanups.push(() => mcp.stop());
  const dir = await mkdtemp(join(tmpdir(), 'mcp-config-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'mcp.yaml');
  await writeFile(
    path,
    `servers:\n  - name: shop\n    url: ${mcp.url}\n    approval: [open_ticket]\n${extraConfig}`,
  );
  const env = {
    MCP_CONFIG: path,
    ...testRedisEnv('approvals'),
  };
  return { mcp, env };
}

async function replica(env: Record<string, string>, shared?: Harness): Promise<Harness> {
  const h = await startHarness({
    env,
    ...(shared ? { slack: shared.slack, bedrock: shared.bedrock, agent: shared.agent } : {}),
  });
  cleanups.push(() => h.stop());
  return h;
}

/** The message in the thread asking for approval. */
function approvalMessage(h: Harness, threadTs: string): FakeMessage | undefined {
  return h.slack
    .botReplies('C0001', threadTs)
    .find((m) => JSON.stringify(m.blocks ?? []).includes('tool_approve'));
}

const ticketReplies = [
  {
    text: 'I can open a ticket. ',
    toolUses: [{ name: 'shop__open_ticket', input: { order_id: '1234', summary: 'late' } }],
  },
  { text: 'Ticket opened.' },
];

async function askForTicket(h: Harness) {
  h.bedrock.enqueue(...ticketReplies);
  const sent = await h.slack.postUserMessage({
    channel: 'C0001',
    user: 'U0001',
    text: '<@UBOT> open a ticket for 1234',
  });
  const asking = await h.slack.waitFor(() => approvalMessage(h, sent.ts));
  await waitForAnswers(h, 1);
  return { sent, asking };
}

describe('a tool that needs approval', () => {
  it('asks first; another person cannot approve; the asker approves on the other replica and the turn completes', async () => {
    const { mcp, env } = await setUp();
    const a = await replica(env);
    const b = await replica(env, a);
    a.slack.setBotEndpoint(`${a.botUrl}/slack/events`);
    const { sent, asking } = await askForTicket(a);

    expect(mcp.calls).toHaveLength(0);
    expect(a.slack.displayText(asking)).toContain('**1. Open ticket**');
    expect(a.slack.displayText(asking)).toContain('• `order_id`: `"1234"`');
    expect(threadText(a, 'C0001', sent.ts)).toContain('Waiting for approval');
    expect(answerLogs(a)[0]?.outcome).toBe('paused');

    // What a second person's client still shows while the first click lands.
    const stale = structuredClone(asking);
    b.slack.setBotEndpoint(`${b.botUrl}/slack/events`);
    await b.slack.clickButton({ user: 'U0002', message: asking, actionId: 'tool_approve' });
    const refusal = await b.slack.waitFor(() =>
      b.slack.ephemerals.find((m) => m.ephemeral?.user === 'U0002'),
    );
    expect(refusal.text).toContain('Only the person who asked');
    expect(mcp.calls).toHaveLength(0);

    await b.slack.clickButton({ user: 'U0001', message: asking, actionId: 'tool_approve' });
    await waitForAnswers(b, 1);

    expect(mcp.calls).toEqual([
      expect.objectContaining({ tool: 'open_ticket', arguments: { order_id: '1234', summary: 'late' } }),
    ]);
    expect(threadText(b, 'C0001', sent.ts)).toContain('Ticket opened.');
    const settled = b.slack.messages.find((m) => m.ts === asking.ts);
    expect(JSON.stringify(settled?.blocks)).toContain('Approved by <@U0001>.');
    expect(JSON.stringify(settled?.blocks)).not.toContain('tool_approve');
    const stored = await b.bot.store.getThread(`T0001:C0001:${sent.ts}`);
    expect(stored?.turns.map((t) => t.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    expect(stored?.turns[3]?.text).toBe('Ticket opened.');

    await b.slack.clickButton({ user: 'U0001', message: stale, actionId: 'tool_approve' });
    await b.slack.waitFor(() => b.slack.ephemerals.some((m) => /already answered/.test(m.text)));
    expect(mcp.calls).toHaveLength(1);
  }, 30_000);

  it('still works after the replica that paused the turn restarted', async () => {
    const { mcp, env } = await setUp();
    const a = await replica(env);
    const { sent, asking } = await askForTicket(a);
    await a.bot.shutdown(1_000);

    const c = await replica(env, a);
    await c.slack.clickButton({ user: 'U0001', message: asking, actionId: 'tool_approve' });
    await waitForAnswers(c, 1);

    expect(mcp.calls.map((call) => call.tool)).toEqual(['open_ticket']);
    expect(threadText(c, 'C0001', sent.ts)).toContain('Ticket opened.');
  }, 30_000);

  it('tells the model of a denial, and it goes on without the call', async () => {
    const { mcp, env } = await setUp();
    const a = await replica(env);
    a.bedrock.enqueue(ticketReplies[0] as never, { text: 'Understood, no ticket.' });
    const sent = await a.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: '<@UBOT> open a ticket',
    });
    const asking = await a.slack.waitFor(() => approvalMessage(a, sent.ts));

    await a.slack.clickButton({ user: 'U0001', message: asking, actionId: 'tool_deny' });
    await waitForAnswers(a, 2);

    expect(mcp.calls).toHaveLength(0);
    const results = (a.bedrock.requests.at(-1)?.body.messages ?? []).at(-1)?.content ?? [];
    expect(JSON.stringify(results)).toContain('denied this call');
    expect(threadText(a, 'C0001', sent.ts)).toContain('Understood, no ticket.');
  }, 30_000);

  it('says an approval expired and changes nothing', async () => {
    const { mcp, env } = await setUp('approvalTtlSeconds: 1\n');
    const a = await replica(env);
    const { asking } = await askForTicket(a);
    await new Promise((resolve) => setTimeout(resolve, 1_200));

    await a.slack.clickButton({ user: 'U0001', message: asking, actionId: 'tool_approve' });
    const said = await a.slack.waitFor(() => a.slack.ephemerals.find((m) => /expired/.test(m.text)));

    expect(said.ephemeral?.user).toBe('U0001');
    expect(mcp.calls).toHaveLength(0);
    expect(a.bedrock.requests).toHaveLength(1);
    const ended = a.slack.messages.find((m) => m.ts === asking.ts);
    expect(JSON.stringify(ended?.blocks)).toContain('Expired.');
    expect(JSON.stringify(ended?.blocks)).not.toMatch(/tool_approve|tool_deny/);
  }, 30_000);
});
