/**
 * What a team must be able to trust of tools: a tool server gets only what its configuration gives
 * it, and a tool's result is data, shown honestly, counted whole and kept bounded.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeMcpServer } from '../stand-ins/fake-mcp-server.ts';
import { answerLogs, botMessages, sentMessages, threadText, waitForAnswers } from '../support/answers.ts';
import { type Harness, startHarness } from '../support/bot-harness.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function configFile(yaml: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-config-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'mcp.yaml');
  await writeFile(path, yaml);
  return path;
}

async function harness(env: Record<string, string>): Promise<Harness> {
  const h = await startHarness({ env });
  cleanups.push(() => h.stop());
  return h;
}

/** A `${NAME}` reference as MCP_CONFIG writes one. */
function reference(name: string): string {
  return `$${'{'}${name}}`;
}

/** Sets process environment variables for one test, as a deployment would. */
function withProcessEnv(values: Record<string, string>): void {
  const before = Object.fromEntries(Object.keys(values).map((name) => [name, process.env[name]]));
  Object.assign(process.env, values);
  cleanups.push(async () => {
    for (const [name, value] of Object.entries(before)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
}

describe('a stdio tool server', () => {
  it("sees none of the bot's secrets, and sees the variables its configuration names", async () => {
    // A real MCP server nobody here wrote, whose get-env tool reports its whole environment.
    const everything = fileURLToPath(
      new URL('../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url),
    );
    withProcessEnv({
      SLACK_BOT_TOKEN: 'xoxb-bot-secret-token',
      SLACK_SIGNING_SECRET: 'signing-secret-value',
      REDIS_URL: 'redis://:redis-password@10.0.0.1:6379',
      OTHER_SERVER_TOKEN: 'other-server-secret',
      EVERYTHING_LABEL: 'label-from-config',
    });
    const path = await configFile(
      [
        'servers:',
        '  - name: everything',
        `    command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(everything)}, stdio]`,
        `    env: { REPORTED_LABEL: "${reference('EVERYTHING_LABEL')}" }`,
        '    tools: [get-env]',
        '  - name: other',
        '    url: http://127.0.0.1:9/mcp',
        `    headers: { Authorization: "Bearer ${reference('OTHER_SERVER_TOKEN')}" }`,
        '',
      ].join('\n'),
    );
    const h = await harness({ MCP_CONFIG: path });
    await h.slack.waitFor(() => h.logs.some((line) => line.msg === 'tool server connected'), 15_000);
    h.bedrock.enqueue(
      { text: '', toolUses: [{ name: 'everything__get-env', input: {} }] },
      { text: 'Done.' },
    );

    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> what env?' });
    await waitForAnswers(h, 1, 15_000);

    const reported = JSON.stringify(h.bedrock.requests[1]?.body.messages?.at(-1));
    expect(reported).toContain('REPORTED_LABEL');
    expect(reported).toContain('label-from-config');
    expect(reported).toContain('PATH');
    for (const secret of [
      'xoxb-bot-secret-token',
      'signing-secret-value',
      'redis-password',
      'other-server-secret',
      'test-aws-secret',
      'AKIDEXAMPLE',
    ])
      expect(reported).not.toContain(secret);
  }, 30_000);
});

/** A bot whose one MCP server is the stand-in at `mcp.url`, with `extra` YAML for the config. */
async function botWithShop(
  extra = '',
  env: Record<string, string> = {},
  setUp: (mcp: FakeMcpServer) => void = () => undefined,
) {
  const mcp = await FakeMcpServer.start();
  cleanups.push(() => mcp.stop());
  setUp(mcp);
  const path = await configFile(`servers:\n  - name: shop\n    url: ${mcp.url}\n${extra}`);
  const h = await harness({ MCP_CONFIG: path, ...env });
  return { h, mcp };
}

const orderLookup = (id: string) => ({ name: 'shop__order_status', input: { order_id: id } });

describe('an answer with tool rounds', () => {
  it('counts the usage of every model call in the ledger and the log line', async () => {
    const { h } = await botWithShop();
    h.bedrock.enqueue(
      { text: '', toolUses: [orderLookup('1')], usage: { inputTokens: 1_000, outputTokens: 10 } },
      { text: '', toolUses: [orderLookup('2')], usage: { inputTokens: 2_000, outputTokens: 20 } },
      { text: 'Both shipped.', usage: { inputTokens: 3_000, outputTokens: 30 } },
    );

    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> orders 1 and 2?' });
    await waitForAnswers(h, 1);

    const line = answerLogs(h)[0];
    expect(line).toMatchObject({ inputTokens: 6_000, outputTokens: 60 });
    const today = new Date().toISOString().slice(0, 10);
    const [user] = await h.bot.store.getUsage([{ kind: 'user', teamId: 'T0001', id: 'U0001' }], today);
    expect(user).toMatchObject({ answers: 1, inputTokens: 6_000, outputTokens: 60 });
  });

  it.each([
    ['with text before the tool call', 'Let me look that up. '],
    ['without text before the tool call', ''],
  ])('can be regenerated %s: a new answer replaces the old one', async (_case, before) => {
    const { h } = await botWithShop();
    h.bedrock.enqueue(
      { text: before, toolUses: [orderLookup('1234')] },
      { text: 'It shipped.' },
      { text: 'It shipped on Friday.' },
    );
    const sent = await h.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: '<@UBOT> where is order 1234?',
    });
    await waitForAnswers(h, 1);
    const old = botMessages(h, 'C0001', sent.ts).at(-1);
    if (!old) throw new Error('no answer');

    await h.slack.clickButton({ user: 'U0001', message: old, actionId: 'answer_regenerate' });
    await h.slack.waitFor(
      () => answerLogs(h).length >= 2 || h.slack.ephemerals.some((m) => /latest answer/.test(m.text)),
    );

    expect(h.slack.ephemerals.filter((m) => /latest answer/.test(m.text))).toEqual([]);
    const again = sentMessages(h.bedrock.requests.at(-1));
    expect(again).toEqual([{ role: 'user', content: [{ text: 'where is order 1234?' }] }]);
    expect(threadText(h, 'C0001', sent.ts)).toContain('It shipped on Friday.');
    expect(JSON.stringify(h.slack.messages.find((m) => m.ts === old.ts)?.blocks)).toContain(
      'Replaced by a newer answer below',
    );
  });

  it('stores a 200,000-character tool result shortened, and the thread stays within its cap', async () => {
    const { h } = await botWithShop('maxResultChars: 200000\n', { HISTORY_TOKEN_BUDGET: '2000' }, (mcp) =>
      mcp.addTool('big_report', 'A very long report.', 'r'.repeat(200_000)),
    );
    h.bedrock.enqueue(
      { text: '', toolUses: [{ name: 'shop__big_report', input: {} }] },
      { text: 'Summed up.' },
    );

    const sent = await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> report' });
    await waitForAnswers(h, 1);

    expect(JSON.stringify(h.bedrock.requests[1]?.body.messages).length).toBeGreaterThan(200_000);
    const stored = await h.bot.store.getThread(`T0001:C0001:${sent.ts}`);
    const result = stored?.turns.flatMap((turn) => turn.toolResults ?? [])[0];
    expect(result?.text.length).toBeLessThan(1_100);
    // Twice the history budget, at about four characters a token.
    expect(JSON.stringify(stored).length).toBeLessThan(2 * 2_000 * 4);
  });
});

/** Text from outside that tries to hide a link's target and to ping people. */
const HOSTILE = '[open the company handbook](https://evil.example/steal) <!channel> <@U0002>';

/** No ping, no control sequence, and every link to evil.example shows its host in its label. */
function expectHonest(text: string): void {
  expect(text).not.toContain('<!channel>');
  expect(text).not.toContain('<@U0002>');
  for (const [, label] of text.matchAll(/\[((?:[^\]\\]|\\.)*)\]\(https:\/\/evil\.example[^)]*\)/g))
    expect(label).toContain('evil.example');
}

describe('untrusted text in every place it reaches Slack', () => {
  it.each([
    ['on the stream', 'native'],
    ['on the post-and-edit path', 'update'],
  ])(
    'a tool result, a Knowledge Base title, an MCP resource name and a file name show the host and ping nobody %s',
    async (_path, streaming) => {
      const { h } = await botWithShop(
        '',
        {
          SLACK_STREAMING: streaming,
          BEDROCK_KNOWLEDGE_BASE_ID: 'KB12345678',
          BUILTIN_TOOLS: 'search_knowledge_base',
        },
        (mcp) =>
          mcp.addTool('handbook', 'Finds the handbook.', [
            { type: 'text', text: `${HOSTILE}\nmore` },
            { type: 'resource_link', uri: 'https://evil.example/doc', name: HOSTILE },
          ]),
      );
      h.agent.enqueue({
        retrievalResults: [
          {
            text: 'The handbook is on the intranet.',
            location: { type: 'WEB', webLocation: { url: 'https://evil.example/kb' } },
            metadata: { title: HOSTILE },
            score: 0.9,
          },
        ],
      });
      h.bedrock.enqueue(
        {
          text: '',
          toolUses: [
            { name: 'shop__handbook', input: {} },
            { name: 'search_knowledge_base', input: { query: 'handbook' } },
          ],
        },
        { text: 'Here it is.' },
      );
      const file = h.slack.uploadFile({
        name: `${HOSTILE}.zip`,
        mimetype: 'application/zip',
        content: Buffer.from('PK'),
        user: 'U0001',
      });

      const sent = await h.slack.postUserMessage({
        channel: 'C0001',
        user: 'U0001',
        text: '<@UBOT> where is the handbook?',
        files: [file],
      });
      await waitForAnswers(h, 1);

      const messages = botMessages(h, 'C0001', sent.ts);
      const shown = messages.map((m) => h.slack.displayText(m)).join('\n');
      const tasks = messages.flatMap((m) => m.tasks);
      console.log('DEBUG', JSON.stringify(tasks, null, 1), shown);
      expect(shown).toContain('Here it is.');
      expect(shown).toContain('Sources');
      expect(shown).toMatch(/I left out .*\.zip/);
      if (streaming === 'native') {
        const handbook = tasks.find(
          (task) => task.id.startsWith('tool-') && task.details?.includes('handbook'),
        );
        expect(handbook?.details).toContain('(evil.example)');
        for (const task of tasks) expectHonest(`${task.title}\n${task.details ?? ''}`);
        const sources = tasks.flatMap((task) => (task.sources ?? []) as Array<{ url: string; text: string }>);
        expect(sources.length).toBeGreaterThan(0);
        // A task card's source is a link whose label is plain text: it must name the host it goes to.
        for (const source of sources) {
          expect(source.text).not.toMatch(/<!channel>|<@U0002>/);
          expect(source.text).toContain(`(${new URL(source.url).host})`);
        }
      } else {
        expect(shown).toContain('[open the company handbook (evil.example)](https://evil.example/steal)');
      }
      expectHonest(shown);
      expectHonest(messages.map((m) => m.text).join('\n'));
    },
    30_000,
  );
});
