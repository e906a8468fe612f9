/**
 * MCP tools with the asker's own account (`auth: user`): someone not connected gets a private
 * Connect step and the answer goes on; after the OAuth round trip (PKCE, dynamic client
 * registration, through the SDK's server-side auth stand-in) the tool runs with their token, and
 * another person's call does not.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeMcpOAuthServer } from '../stand-ins/fake-mcp-oauth-server.ts';
import type { FakeMessage } from '../stand-ins/fake-slack.ts';
import { threadText, waitForAnswers } from '../support/answers.ts';
import { type Harness, startHarness } from '../support/bot-harness.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(): Promise<{ h: Harness; tickets: FakeMcpOAuthServer }> {
  const tickets = await FakeMcpOAuthServer.start();
  cleanups.push(() => tickets.stop());
  const dir = await mkdtemp(join(tmpdir(), 'mcp-user-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'mcp.yaml');
  await writeFile(
    path,
    `servers:\n  - name: tickets\n    url: ${tickets.url}\n    auth: user\n    tools: [my_tickets]\n`,
  );
  const h = await startHarness({
    env: {
      MCP_CONFIG: path,
      SLACK_STATE_SECRET: 'a-state-secret-of-at-least-32-characters',
      TOKEN_ENCRYPTION_KEYS: randomBytes(32).toString('base64'),
    },
  });
  cleanups.push(() => h.stop());
  return { h, tickets };
}

const askForTickets = () => ({ text: '', toolUses: [{ name: 'tickets__my_tickets', input: {} }] });

/** The private Connect button the person was shown, and the URL it opens. */
function connectButton(h: Harness, user: string): string | undefined {
  const offer = h.slack.ephemerals.filter((m: FakeMessage) => m.ephemeral?.user === user).at(-1);
  const button = JSON.stringify(offer?.blocks ?? []).match(/"url":"([^"]+)"/);
  return button?.[1]?.replace(/\\u0026/g, '&');
}

/** The person opens the Connect link: the server's consent page approves and sends them back to the bot. */
async function connect(url: string): Promise<{ status: number; body: string }> {
  const approved = await fetch(url, { redirect: 'manual' });
  const back = approved.headers.get('location');
  if (!back) throw new Error(`the authorization server did not redirect (${approved.status})`);
  const done = await fetch(back);
  return { status: done.status, body: await done.text() };
}

describe('a tool server that acts with the asker’s own account', () => {
  it('offers a private Connect step to someone not connected, and the answer goes on', async () => {
    const { h, tickets } = await start();
    h.bedrock.enqueue(askForTickets(), { text: 'Please connect your tickets account first.' });

    const sent = await h.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: '<@UBOT> my tickets?',
    });
    await waitForAnswers(h, 1);

    expect(tickets.calls).toEqual([]);
    expect(connectButton(h, 'U0001')).toMatch(new RegExp(`^${tickets.baseUrl}/authorize\\?`));
    expect(connectButton(h, 'U0001')).toContain('code_challenge_method=S256');
    expect(threadText(h, 'C0001', sent.ts)).toContain('Please connect your tickets account first.');
    expect(JSON.stringify(h.bedrock.requests[1]?.body.messages)).toContain('Not connected');
  });

  it('calls the tool with that person’s token after they connect, and not for another person', async () => {
    const { h, tickets } = await start();
    h.bedrock.enqueue(
      askForTickets(),
      { text: 'Connect first.' },
      askForTickets(),
      { text: 'You have two open tickets.' },
      askForTickets(),
      { text: 'Bob needs to connect.' },
    );
    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> my tickets?' });
    await waitForAnswers(h, 1);
    tickets.nextLogin = 'alice@tickets';

    const connected = await connect(connectButton(h, 'U0001') ?? '');
    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> my tickets now?' });
    await waitForAnswers(h, 2);
    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0002', text: '<@UBOT> and mine?' });
    await waitForAnswers(h, 3);

    expect(connected).toEqual({ status: 200, body: expect.stringContaining('Connected tickets') });
    expect(tickets.registeredClients).toBe(1);
    expect(tickets.calls).toEqual([{ tool: 'my_tickets', login: 'alice@tickets' }]);
    expect(JSON.stringify(h.bedrock.requests[3]?.body.messages)).toContain('Open tickets of alice@tickets');
    expect(connectButton(h, 'U0002')).toBeDefined();
  });

  it('refuses a callback whose state was not issued to a connection, and keeps nothing', async () => {
    const { h } = await start();

    const forged = await fetch(
      `${h.botUrl}/mcp/oauth/callback?code=abc&state=eyJwIjoiVDAwMDE6VTAwMDIifQ.forged`,
    );

    expect(forged.status).toBe(400);
    expect(await forged.text()).toContain('The connection did not complete');
  });

  it('refreshes an expired token, and lists the account with /ask connections', async () => {
    const { h, tickets } = await start();
    tickets.accessTokenLifetimeS = 1;
    h.bedrock.enqueue(askForTickets(), { text: 'Connect first.' }, askForTickets(), { text: 'Two tickets.' });
    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> my tickets?' });
    await waitForAnswers(h, 1);
    await connect(connectButton(h, 'U0001') ?? '');
    await new Promise((resolve) => setTimeout(resolve, 1_100));

    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> my tickets now?' });
    await waitForAnswers(h, 2);
    const listed = await h.slack.sendCommand({ text: 'connections', user: 'U0001', channel: 'C0001' });

    expect(tickets.refreshes).toBeGreaterThanOrEqual(1);
    expect(tickets.calls).toEqual([{ tool: 'my_tickets', login: 'alice@tickets' }]);
    expect(JSON.stringify(listed.body)).toContain('*tickets*: connected');
  });
});
