/**
 * An approval a team can trust: it shows every argument of what would run, the click runs exactly
 * that, only the right people decide, an approved turn is never lost (a tool server down on the
 * replica that took the click, a drain there), several can wait in one thread, and the request's
 * message always ends saying how it ended.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeBedrockRuntime } from '../stand-ins/fake-bedrock-runtime.ts';
import { FakeMcpServer } from '../stand-ins/fake-mcp-server.ts';
import type { FakeMessage } from '../stand-ins/fake-slack.ts';
import { answerLogs, threadText, waitForAnswers } from '../support/answers.ts';
import { type Harness, startHarness } from '../support/bot-harness.ts';
import { testRedisEnv } from '../support/test-redis.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An MCP server whose open_ticket needs approval, and the environment of bots that use it. */
async function setUp(serverYaml = '    approval: [open_ticket]\n', topYaml = '') {
  const mcp = await FakeMcpServer.start();
  cleanups.push(() => mcp.stop());
  const dir = await mkdtemp(join(tmpdir(), 'mcp-config-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'mcp.yaml');
  await writeFile(path, `servers:\n  - name: shop\n    url: ${mcp.url}\n${serverYaml}${topYaml}`);
  return { mcp, env: { MCP_CONFIG: path, ...testRedisEnv('approval-trust') } };
}

async function replica(env: Record<string, string>, shared?: Harness): Promise<Harness> {
  const h = await startHarness({
    env,
    ...(shared ? { slack: shared.slack, bedrock: shared.bedrock, agent: shared.agent } : {}),
  });
  cleanups.push(() => h.stop());
  return h;
}

/** The approval requests in a thread that still show their buttons, oldest first. */
function openRequests(h: Harness, threadTs: string): FakeMessage[] {
  return h.slack
    .botReplies('C0001', threadTs)
    .filter((m) => JSON.stringify(m.blocks ?? []).includes('tool_approve'));
}

function messageAt(h: Harness, ts: string): FakeMessage | undefined {
  return h.slack.messages.find((m) => m.ts === ts);
}

const ticket = (orderId: string, summary = 'late') => ({
  name: 'shop__open_ticket',
  input: { order_id: orderId, summary },
});

/** Asks for a ticket in a new thread (or `threadTs`) and waits for its approval request. */
async function askForTicket(h: Harness, orderId: string, threadTs?: string) {
  const sent = await h.slack.postUserMessage({
    channel: 'C0001',
    user: 'U0001',
    text: `<@UBOT> open a ticket for ${orderId}`,
    ...(threadTs ? { threadTs } : {}),
  });
  const thread = threadTs ?? sent.ts;
  const before = openRequests(h, thread).length;
  await h.slack.waitFor(() => openRequests(h, thread).length > before);
  const asking = openRequests(h, thread).at(-1) as FakeMessage;
  return { thread, asking };
}

describe('what an approval shows and runs', () => {
  it('shows an argument hidden behind a long first field, the whole input on Show all, and runs exactly it', async () => {
    const { mcp, env } = await setUp();
    const a = await replica(env);
    const input = {
      summary: `Customer is unhappy <!channel>, see [the policy](https://evil.example/y). ${'x'.repeat(630)}`,
      order_id: '9999-REFUND-ALL-TO-ATTACKER',
    };
    a.bedrock.enqueue(
      { text: '', toolUses: [{ name: 'shop__open_ticket', input }] },
      { text: 'Ticket opened.' },
    );

    const { asking } = await askForTicket(a, '9999');
    const shown = a.slack.displayText(asking);
    expect(shown).toContain('`order_id`: `"9999-REFUND-ALL-TO-ATTACKER"`');
    expect(shown).not.toContain('<!channel>');
    expect(shown).not.toContain('[the policy](https://evil.example/y)');
    await a.slack.clickButton({ user: 'U0001', message: asking, actionId: 'tool_show_all' });
    const modal = await a.slack.waitFor(() => a.slack.modalOf('U0001'));
    await a.slack.clickButton({ user: 'U0001', message: asking, actionId: 'tool_approve' });
    await a.slack.waitFor(() => mcp.calls.length > 0 && answerLogs(a).length >= 2);

    expect(shown).toMatch(
      /`summary`: `"Customer is unhappy .*x+` _\[… \d+ more characters: see \*\*Show all\*\*\]_/,
    );
    expect(JSON.stringify(modal.blocks)).toContain('x'.repeat(630));
    expect(JSON.stringify(modal.blocks)).toContain('9999-REFUND-ALL-TO-ATTACKER');
    expect(mcp.calls.map((call) => call.arguments)).toEqual([input]);
  }, 30_000);

  it('runs nothing for a click whose button names other calls than the request stored', async () => {
    const { mcp, env } = await setUp();
    const a = await replica(env);
    a.bedrock.enqueue({ text: '', toolUses: [ticket('1234')] }, { text: 'Ticket opened.' });
    const { thread, asking } = await askForTicket(a, '1234');
    // The same approval id with another hash: a button from a request that showed other calls.
    const otherCalls = JSON.parse(
      JSON.stringify(asking.blocks ?? []).replace(/("value":"[^"|]+)\|[^"]+"/g, '$1|0000000000000000"'),
    ) as unknown[];
    expect(JSON.stringify(otherCalls)).toContain('|0000000000000000');

    await a.slack.clickButton({
      user: 'U0001',
      message: { ...asking, blocks: otherCalls } as FakeMessage,
      actionId: 'tool_approve',
    });
    const told = await a.slack.waitFor(() => a.slack.ephemerals.find((m) => m.ephemeral?.user === 'U0001'));

    expect(told.text).toContain('no longer matches what it showed');
    expect(mcp.calls).toHaveLength(0);
    expect(openRequests(a, thread)).toHaveLength(1);
  }, 30_000);

  it('in approvers mode refuses the asker, and an approver approves', async () => {
    const { mcp, env } = await setUp('    approval: { open_ticket: approvers }\n', 'approvers: [U0002]\n');
    const a = await replica(env);
    a.bedrock.enqueue({ text: '', toolUses: [ticket('1234')] }, { text: 'Ticket opened.' });
    const { thread, asking } = await askForTicket(a, '1234');

    await a.slack.clickButton({ user: 'U0001', message: asking, actionId: 'tool_approve' });
    const refusal = await a.slack.waitFor(() =>
      a.slack.ephemerals.find((m) => m.ephemeral?.user === 'U0001'),
    );
    expect(refusal.text).toContain('Only an approver');
    expect(mcp.calls).toHaveLength(0);

    await a.slack.clickButton({ user: 'U0002', message: asking, actionId: 'tool_approve' });
    await waitForAnswers(a, 2);

    expect(mcp.calls).toHaveLength(1);
    expect(threadText(a, 'C0001', thread)).toContain('Ticket opened.');
    expect(JSON.stringify(messageAt(a, asking.ts)?.blocks)).toContain('Approved by <@U0002>.');
  }, 30_000);

  it('says in one line when the thread it was asked in quoted other people', async () => {
    const { env } = await setUp();
    const a = await replica(env);
    const root = a.slack.addMessage({
      channel: 'C0001',
      user: 'U0002',
      text: 'please refund order 1234 to me',
    });
    a.bedrock.enqueue({ text: '', toolUses: [ticket('1234')] });

    const { asking } = await askForTicket(a, '1234', root);

    expect(a.slack.displayText(asking)).toContain(
      "this thread's earlier messages, written by other people, were given to me as context",
    );
  }, 30_000);
});

describe('an approved turn', () => {
  it('waits when the tool server is down on the replica that took the click, and completes once it is back', async () => {
    const { mcp, env } = await setUp();
    const a = await replica(env);
    a.bedrock.enqueue({ text: '', toolUses: [ticket('1234')] }, { text: 'Ticket opened.' });
    const { thread, asking } = await askForTicket(a, '1234');
    await mcp.stop();
    const c = await replica(env, a);
    c.slack.setBotEndpoint(`${c.botUrl}/slack/events`);

    await c.slack.clickButton({ user: 'U0001', message: asking, actionId: 'tool_approve' });
    const told = await c.slack.waitFor(() => c.slack.ephemerals.find((m) => /not available/.test(m.text)));

    expect(told.ephemeral?.user).toBe('U0001');
    expect(openRequests(c, thread).map((m) => m.ts)).toEqual([asking.ts]);
    expect(c.bedrock.requests).toHaveLength(1);

    await mcp.restart();
    await c.slack.waitFor(() => c.logs.some((line) => line.msg === 'tool server connected'), 15_000);
    await c.slack.clickButton({ user: 'U0001', message: asking, actionId: 'tool_approve' });
    await waitForAnswers(c, 1);

    expect(mcp.calls.map((call) => call.tool)).toEqual(['open_ticket']);
    expect(threadText(c, 'C0001', thread)).toContain('Ticket opened.');
    expect(JSON.stringify(c.bedrock.requests[1]?.body)).toContain('"toolConfig"');
    expect(JSON.stringify(messageAt(c, asking.ts)?.blocks)).toContain('Approved by <@U0001>.');
  }, 40_000);

  it('stays pending when the replica that took the click is draining; the approver is told, and a later click completes it', async () => {
    const { mcp, env } = await setUp();
    const a = await replica(env);
    a.bedrock.enqueue(
      { text: '', toolUses: [ticket('1234')] },
      { text: FakeBedrockRuntime.chunksOf('A slow answer elsewhere. '.repeat(10), 10), chunkDelayMs: 100 },
      { text: 'Ticket opened.' },
    );
    const { thread, asking } = await askForTicket(a, '1234');
    const c = await replica(env, a);
    c.slack.setBotEndpoint(`${c.botUrl}/slack/events`);
    await c.slack.postUserMessage({ channel: 'C0001', user: 'U0002', text: '<@UBOT> something slow' });
    await c.slack.waitFor(() => c.bedrock.requests[1]?.firstTokenAtMs);
    const draining = c.bot.shutdown(15_000);

    await c.slack.clickButton({ user: 'U0001', message: asking, actionId: 'tool_approve' });
    const told = await c.slack.waitFor(() =>
      c.slack.ephemerals.find((m) => m.ephemeral?.user === 'U0001' && /still open/.test(m.text)),
    );
    expect(told).toBeDefined();
    expect(mcp.calls).toHaveLength(0);
    expect(openRequests(c, thread).map((m) => m.ts)).toEqual([asking.ts]);
    await draining;

    a.slack.setBotEndpoint(`${a.botUrl}/slack/events`);
    await a.slack.clickButton({ user: 'U0001', message: asking, actionId: 'tool_approve' });
    await a.slack.waitFor(() => threadText(a, 'C0001', thread).includes('Ticket opened.'));

    expect(mcp.calls.map((call) => call.tool)).toEqual(['open_ticket']);
  }, 40_000);
});

describe('a restart after an approved tool ran', () => {
  it('keeps the tool result in history before the answer is written, so asking again repeats no side effect', async () => {
    const { mcp, env } = await setUp();
    const a = await replica(env);
    a.bedrock.enqueue(
      { text: '', toolUses: [ticket('1234')] },
      { text: 'Ticket opened.', firstTokenDelayMs: 20_000 },
    );
    const { thread, asking } = await askForTicket(a, '1234');
    // What a person's client still shows if it missed the update.
    const stale = structuredClone(asking);

    await a.slack.clickButton({ user: 'U0001', message: asking, actionId: 'tool_approve' });
    await a.slack.waitFor(() => mcp.calls.length === 1 && a.bedrock.requests.length === 2);
    await a.bot.shutdown(1_000);

    const c = await replica(env, a);
    const stored = await c.bot.store.getThread(`T0001:C0001:${thread}`);
    const results = stored?.turns.flatMap((turn) => turn.toolResults ?? []) ?? [];
    expect(results.map((result) => result.text).join('\n')).toMatch(/Ticket T-\d+ opened for order 1234/);
    await c.slack.clickButton({ user: 'U0001', message: stale, actionId: 'tool_approve' });
    await c.slack.waitFor(() => c.slack.ephemerals.some((m) => /already answered/.test(m.text)));
    expect(mcp.calls).toHaveLength(1);
  }, 40_000);
});

describe('approvals in one thread', () => {
  it('are kept apart: both can be approved, and each runs once', async () => {
    const { mcp, env } = await setUp();
    const a = await replica(env);
    a.bedrock.enqueue(
      { text: '', toolUses: [ticket('1111')] },
      { text: '', toolUses: [ticket('2222')] },
      { text: 'Ticket for 2222 opened.' },
      { text: 'Ticket for 1111 opened.' },
    );
    const first = await askForTicket(a, '1111');
    const second = await askForTicket(a, '2222', first.thread);
    // What a person's client still shows if it missed the update: a second click on the first request.
    const firstAsStillShown = structuredClone(first.asking);

    await a.slack.clickButton({ user: 'U0001', message: second.asking, actionId: 'tool_approve' });
    await a.slack.waitFor(() => threadText(a, 'C0001', first.thread).includes('Ticket for 2222 opened.'));
    await a.slack.clickButton({ user: 'U0001', message: first.asking, actionId: 'tool_approve' });
    await a.slack.waitFor(() => threadText(a, 'C0001', first.thread).includes('Ticket for 1111 opened.'));
    await a.slack.clickButton({ user: 'U0001', message: firstAsStillShown, actionId: 'tool_approve' });
    await a.slack.waitFor(() => a.slack.ephemerals.some((m) => /already answered/.test(m.text)));

    expect(mcp.calls.map((call) => call.arguments.order_id)).toEqual(['2222', '1111']);
    expect(openRequests(a, first.thread)).toEqual([]);
  }, 30_000);
});

describe('the approval message', () => {
  it('ends updated, without live buttons, when the click comes 50 ms after it was posted', async () => {
    const { mcp, env } = await setUp();
    const a = await replica(env);
    a.bedrock.enqueue({ text: '', toolUses: [ticket('1234')] }, { text: 'Ticket opened.' });
    // Slack shows the request at once but answers the post slowly: the click beats the bot's own view of it.
    a.slack.failNext('chat.postMessage', { appliedThenSlowMs: 400 }, 2);
    const sent = await a.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: '<@UBOT> ticket 1234',
    });
    const asking = await a.slack.waitFor(() => openRequests(a, sent.ts)[0]);
    await new Promise((resolve) => setTimeout(resolve, 50));

    await a.slack.clickButton({ user: 'U0001', message: asking, actionId: 'tool_approve' });
    await a.slack.waitFor(() => threadText(a, 'C0001', sent.ts).includes('Ticket opened.'));
    const settled = await a.slack.waitFor(() => {
      const message = messageAt(a, asking.ts);
      return JSON.stringify(message?.blocks).includes('Approved by') ? message : undefined;
    });

    expect(mcp.calls).toHaveLength(1);
    expect(JSON.stringify(settled.blocks)).not.toMatch(/tool_approve|tool_deny/);
    expect(settled.text).toBe('Approved by <@U0001>. Open ticket');
    expect(a.slack.displayText(settled)).not.toContain('shop__open_ticket');
  }, 30_000);
});
