import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { responseUrlPoster, responseUrlRefusal } from '../../src/slack/response-url.ts';
import { capturedLogger } from '../support/captured-logger.ts';

const SLACK_API = 'https://slack.com/api/';
const STAND_IN_API = 'http://127.0.0.1:4000/api/';

describe('which response_url the bot fetches', () => {
  it.each([
    ['https://hooks.slack.com/commands/T1/123/abc', SLACK_API],
    ['https://hooks.slack-gov.com/commands/T1/123/abc', 'https://slack-gov.com/api/'],
    ['https://hooks.slack.com:443/commands/T1/123/abc', SLACK_API],
    ['http://127.0.0.1:4000/response/R123', STAND_IN_API],
  ])('fetches %s (Slack API at %s)', (url, api) => {
    expect(responseUrlRefusal(url, api)).toBeNull();
  });

  it.each([
    ['http://hooks.slack.com/commands/T1/123/abc', 'not https'],
    ['https://evil.example/commands/T1/123/abc', 'not a Slack host'],
    ['https://hooks.slack.com.evil.example/commands/T1', 'not a Slack host'],
    ['https://evil.example/hooks.slack.com/commands', 'not a Slack host'],
    ['https://hooks.slack.com@evil.example/commands', 'has credentials'],
    ['https://hooks.slack.com:8443/commands/T1/123/abc', 'not the https port'],
    ['http://169.254.169.254/latest/meta-data/', 'not a Slack host'],
    ['http://127.0.0.1:4001/response/R123', 'not a Slack host'],
    ['hooks.slack.com/commands', 'not a URL'],
  ])('refuses %s: %s', (url, reason) => {
    expect(responseUrlRefusal(url, STAND_IN_API)).toBe(reason);
  });
});

describe('posting to a response_url', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  });

  /** A local HTTP server answering every request with `status` (and `location`), recording them. */
  async function serve(status: number, location?: string) {
    const received: IncomingMessage[] = [];
    const server = createServer((request, response) => {
      received.push(request);
      request.resume();
      response.writeHead(status, location ? { location } : {});
      response.end();
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
  }

  it('posts the body to an allowed URL', async () => {
    const slack = await serve(200);
    const post = responseUrlPoster({ slackApiUrl: `${slack.url}/api/`, logger: capturedLogger().logger });

    await post(`${slack.url}/response/R1`, { text: 'hi' });

    expect(slack.received.map((r) => r.url)).toEqual(['/response/R1']);
  });

  it('does not follow a redirect, and fails', async () => {
    const elsewhere = await serve(200);
    const slack = await serve(302, `${elsewhere.url}/stolen`);
    const post = responseUrlPoster({ slackApiUrl: `${slack.url}/api/`, logger: capturedLogger().logger });

    await expect(post(`${slack.url}/response/R1`, { text: 'hi' })).rejects.toThrow(/redirect \(302\)/);

    expect(slack.received).toHaveLength(1);
    expect(elsewhere.received).toHaveLength(0);
  });

  it('fetches nothing from a refused URL and logs its host, not its secret path', async () => {
    const slack = await serve(200);
    const other = await serve(200);
    const { logger, text } = capturedLogger();
    const post = responseUrlPoster({ slackApiUrl: `${slack.url}/api/`, logger });

    await expect(post(`${other.url}/commands/T1/secret-path`, { text: 'hi' })).rejects.toThrow(/refused/);

    expect(other.received).toHaveLength(0);
    expect(text()).toContain('refused to post to a response_url');
    expect(text()).toContain(new URL(other.url).host);
    expect(text()).not.toContain('secret-path');
  });
});
