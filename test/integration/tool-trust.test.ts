/**
 * What a team must be able to trust of tools: a tool server gets only what its configuration gives
 * it, and a tool's result is data, shown honestly, counted whole and kept bounded.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { waitForAnswers } from '../support/answers.ts';
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
        '    env: { REPORTED_LABEL: "${EVERYTHING_LABEL}" }',
        '    tools: [get-env]',
        '  - name: other',
        '    url: http://127.0.0.1:9/mcp',
        '    headers: { Authorization: "Bearer ${OTHER_SERVER_TOKEN}" }',
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
