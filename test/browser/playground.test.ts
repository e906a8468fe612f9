/**
 * The playground as a person uses it: headless Chromium (Debian's `chromium`, driven by
 * playwright-core) on the page, the real bot behind it, the demo model paced fast. Also the
 * `npm run playground` command itself. Writes `docs/playground.png` with UPDATE_SCREENSHOT=1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningPlayground, startPlayground } from '../../playground/playground.ts';
import { renderMarkdown } from '../../src/slack/render/markdown-renderer.ts';
import { demoAnswer } from '../stand-ins/demo-model.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// The README's screenshot is refreshed on demand (UPDATE_SCREENSHOT=1 npm test -- test/browser), so
// an ordinary test run leaves the tracked file alone.
const SCREENSHOT = process.env.UPDATE_SCREENSHOT
  ? join(root, 'docs', 'playground.png')
  : join(tmpdir(), 'bedrock-slack-assistant-playground.png');
/** Fast but still streamed: ~2 s per answer, a Slack write every 100 ms. */
const FAST = {
  demo: { firstTokenDelayMs: 150, tokensPerSecond: 60 },
  env: { STREAM_FLUSH_INTERVAL_MS: '100', BEDROCK_MAX_ATTEMPTS: '2', LOG_LEVEL: 'info' },
};

let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-dev-shm-usage'],
  });
});

afterAll(async () => {
  await browser?.close();
});

async function openPage(playground: RunningPlayground): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(10_000);
  await page.goto(playground.url);
  await page.waitForSelector('body[data-ready="true"]');
  return page;
}

async function type(box: Locator, text: string): Promise<void> {
  await box.fill(text);
  await box.press('Enter');
}

/** Opens the thread of the channel's latest message with this text, once it has a reply. */
async function openThreadOf(page: Page, text: string): Promise<void> {
  await page.locator('#channel-messages li.msg').filter({ hasText: text }).last().locator('.replies').click();
}

/** The thread's answers from the app (not the thread's root), oldest first. */
function answers(page: Page): Locator {
  return page.locator('#thread li.msg.bot:not(.thread-root)');
}

/** Waits until the thread holds `count` finished answers; returns the last one's text. */
async function finishedAnswer(page: Page, count: number): Promise<string> {
  const answer = answers(page).nth(count - 1);
  await page
    .locator('#thread li.msg.bot:not(.thread-root)[data-stream-state="stopped"]')
    .nth(count - 1)
    .waitFor();
  return (await answer.locator('.body').textContent()) ?? '';
}

/** Polls `check` until it holds (the playground learns in the background). */
async function waitUntil(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('timed out waiting');
}

async function setSwitch(page: Page, name: string, on: boolean): Promise<void> {
  const toggle = page.getByRole('switch', { name });
  if (on) await toggle.check();
  else await toggle.uncheck();
  // The stand-in confirms over the event stream once the fault is applied (or lifted).
  const id = await toggle.getAttribute('data-switch');
  await page
    .locator(`#switch-list li[data-switch-id="${id}"][data-switch-state="${on ? 'on' : 'off'}"]`)
    .waitFor();
}

describe('the playground page (demo model)', () => {
  let playground: RunningPlayground;
  let page: Page;

  beforeAll(async () => {
    playground = await startPlayground({ port: 0, ...FAST });
    page = await openPage(playground);
  });

  afterAll(async () => {
    await page?.close();
    await playground?.stop();
  });

  it('posts an /ask question, streams the answer into its thread, and remembers it for a plain reply', async () => {
    expect(await page.getByText('Demo model: not a real LLM').isVisible()).toBe(true);
    await type(page.getByRole('textbox', { name: 'Message' }), '/ask how do refunds work?');

    const question = page
      .locator('#channel-messages li.msg.bot')
      .filter({ hasText: 'asked: how do refunds work?' });
    await question.waitFor();
    expect(await question.locator('.mention').textContent()).toBe('@alice');
    await question.locator('.replies').click();

    // Watch the answer grow: several lengths while the stream is open, then the whole answer.
    const answer = answers(page).first();
    const seen = new Set<number>();
    let final = '';
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
      const [state, text] = await answer.evaluate((el) => [
        el.getAttribute('data-stream-state') ?? '',
        el.querySelector('.body')?.textContent ?? '',
      ]);
      if (state === 'stopped') {
        final = text;
        break;
      }
      if (text.length > 0) seen.add(text.length);
      await page.waitForTimeout(20);
    }
    expect(seen.size).toBeGreaterThanOrEqual(2);
    expect(final.length).toBeGreaterThan(Math.max(...seen));
    expect(final).toContain('You asked: how do refunds work?');

    await type(page.getByRole('textbox', { name: 'Reply' }), 'how long does it take?');
    const second = await finishedAnswer(page, 2);
    expect(second).toContain(
      "You've asked me 2 things in this thread; earlier you asked: “how do refunds work?”",
    );

    // The side panel lists this answer's Slack calls and the model request that produced it.
    const answerTs = await answers(page).nth(1).getAttribute('data-ts');
    const calls = page.locator('#call-list li');
    for (const method of ['chat.appendStream', 'chat.stopStream']) {
      expect(
        await calls
          .filter({ hasText: `${method}` })
          .filter({ hasText: `ts ${answerTs}` })
          .count(),
      ).toBeGreaterThan(0);
    }
    expect(await calls.filter({ hasText: 'chat.startStream' }).count()).toBeGreaterThanOrEqual(2);
    await page.getByRole('tab', { name: 'Model' }).click();
    const request = page.locator('#model-list li').first();
    expect(await request.textContent()).toMatch(
      /ConverseStream.*completed.*playground\.demo-model-v1 · 3 messages · tokens in \d+ \/ out \d+/s,
    );
    await page.getByRole('tab', { name: 'Slack API' }).click();
  });

  it('shows what happens to a mention in a channel the app is not in, and answers a DM in a thread', async () => {
    await page.locator('#channel-list button[data-channel="C0002"]').click();
    await type(page.getByRole('textbox', { name: 'Message' }), '@assistant are you here?');

    const mine = page.locator('#channel-messages li.msg.user').last();
    await mine.waitFor();
    expect(await mine.locator('.body').textContent()).toBe('@assistant are you here?');
    const note = page.locator('#channel-messages li.msg.slackbot').last();
    expect(await note.textContent()).toContain('You mentioned @assistant, but they’re not in this channel');
    expect(await note.textContent()).toContain('Only visible to you');
    // The stand-in still delivers the mention; the bot's attempt to answer is refused by Slack.
    const refused = page
      .locator('#call-list li[data-method="chat.startStream"]')
      .filter({ hasText: 'not_in_channel' })
      .filter({ hasText: 'C0002' });
    await refused.first().waitFor();
    expect(await page.locator('#channel-messages li.msg.bot').count()).toBe(0);

    await page.locator('#dm-list button').click();
    await type(page.getByRole('textbox', { name: 'Message' }), 'hello in a DM');
    await openThreadOf(page, 'hello in a DM');
    expect(await finishedAnswer(page, 1)).toContain('You asked: hello in a DM');
    // Opening the DM is opening the app's Messages tab: the bot offers its suggested prompts.
    await page.locator('#prompts button').first().waitFor();
  });

  it('sends a file picked in the composer with the question, and the demo model says what it received', async () => {
    await page.locator('#channel-list button[data-channel="C0001"]').click();
    // A real image: the bot decodes images to fit them within Bedrock's 8,000 pixels a side.
    const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#336699' } })
      .png()
      .toBuffer();
    await page
      .locator('#message-file')
      .setInputFiles({ name: 'chart.png', mimeType: 'image/png', buffer: png });
    await type(page.getByRole('textbox', { name: 'Message' }), '@assistant what is this chart?');

    const mine = page.locator('#channel-messages li.msg.user').filter({ hasText: 'what is this chart?' });
    await mine.locator('.file').filter({ hasText: 'chart.png' }).waitFor();
    await openThreadOf(page, 'what is this chart?');
    expect(await finishedAnswer(page, 1)).toContain(
      `an image (png, ${(png.length / 1000).toFixed(1)} KB), shared with your question`,
    );
  });

  it('learns a file attached in #general, cites it, and says "Answered before" for the same question', async () => {
    await page.locator('#channel-list button[data-channel="C0001"]').click();
    await page.locator('#message-file').setInputFiles({
      name: 'parking.md',
      mimeType: 'text/markdown',
      buffer: Buffer.from('# Parking\n\nVisitors park on level two of the garage; the gate code is 4711.'),
    });
    await type(page.getByRole('textbox', { name: 'Message' }), 'the parking rules');
    const knowledge = playground.bot.knowledge;
    await waitUntil(
      async () => ((await knowledge?.sources(playground.slack.teamId, 'C0001')) ?? []).length > 0,
    );

    await type(
      page.getByRole('textbox', { name: 'Message' }),
      '@assistant what does the shared file say about visitor parking?',
    );
    await openThreadOf(page, 'what does the shared file say about visitor parking?');
    const first = await finishedAnswer(page, 1);
    await waitUntil(async () =>
      ((await knowledge?.sources(playground.slack.teamId, 'C0001')) ?? []).some((s) => s.kind === 'thread'),
    );
    await type(
      page.getByRole('textbox', { name: 'Message' }),
      '@assistant what does the shared file say about visitor parking?',
    );
    await page
      .locator('#channel-messages li.msg.user')
      .filter({ hasText: 'what does the shared file say about visitor parking?' })
      .nth(1)
      .locator('.replies')
      .click();
    const again = await finishedAnswer(page, 1);

    expect(first).toContain('level two of the garage');
    expect(first).toContain('parking.md');
    expect(again).toContain('Answered before');
  });

  it('uses a demo tool as a task card, and asks approval before opening a ticket', async () => {
    await page.locator('#channel-list button[data-channel="C0001"]').click();
    await type(
      page.getByRole('textbox', { name: 'Message' }),
      '@assistant what is the status of order 1234?',
    );
    await openThreadOf(page, 'status of order 1234');
    const looked = await finishedAnswer(page, 1);
    expect(looked).toContain('Order 1234: shipped');
    expect(await answers(page).first().locator('li[data-status="complete"]').count()).toBeGreaterThan(0);

    await type(page.getByRole('textbox', { name: 'Reply' }), 'please open a ticket for it');
    const approve = page.locator('#thread button[data-action-id="tool_approve"]');
    await approve.waitFor();
    await approve.click();
    await page
      .locator('#thread li.msg.bot')
      .filter({ hasText: /Ticket T-\d+ opened for order 1234/ })
      .waitFor();
    await page.locator('#thread li.msg.bot').filter({ hasText: 'Approved by' }).waitFor();
  });

  it('shows the busy message while the model is throttled, and answers again once it is not', async () => {
    await page.locator('#channel-list button[data-channel="C0001"]').click();
    await setSwitch(page, 'Throttle the model', true);
    await type(page.getByRole('textbox', { name: 'Message' }), '@assistant will this work?');
    await openThreadOf(page, 'will this work?');
    expect(await finishedAnswer(page, 1)).toMatch(/busy/i);

    await setSwitch(page, 'Throttle the model', false);
    await type(page.getByRole('textbox', { name: 'Message' }), '@assistant and now?');
    await openThreadOf(page, 'and now?');
    expect(await finishedAnswer(page, 1)).toContain('You asked: and now?');
  });

  it('shows Slack 429s on chat.appendStream in the side panel while the answer ends exact', async () => {
    await setSwitch(page, 'Slack 429s on chat.appendStream', true);
    const requestsBefore = playground.bedrock?.requests.length ?? 0;
    await type(page.getByRole('textbox', { name: 'Message' }), '@assistant tell me about rate limits');
    await openThreadOf(page, 'tell me about rate limits');
    const shown = await finishedAnswer(page, 1);

    const limited = page.locator('#call-list li[data-method="chat.appendStream"][data-status="429"]');
    expect(await limited.first().textContent()).toMatch(/ratelimited · Retry-After \d+ s/);

    const request = playground.bedrock?.requests[requestsBefore];
    const rootTs = await page.locator('#thread li.thread-root').getAttribute('data-ts');
    const [message] = playground.slack.botReplies('C0001', rootTs ?? '');
    expect(request).toBeDefined();
    expect(message?.markdown).toBe(renderMarkdown(demoAnswer(request?.body ?? {})));
    expect(shown).toContain('Switch on a fault in the side panel, then ask again.');
    await setSwitch(page, 'Slack 429s on chat.appendStream', false);
  });
});

describe('the playground page (Stop)', () => {
  let playground: RunningPlayground;
  let page: Page;

  beforeAll(async () => {
    // Slow enough to press Stop while the answer streams.
    playground = await startPlayground({
      port: 0,
      ...FAST,
      demo: { firstTokenDelayMs: 150, tokensPerSecond: 6 },
    });
    page = await openPage(playground);
  });

  afterAll(async () => {
    await page?.close();
    await playground?.stop();
  });

  it("shows Slack's Stop while an answer streams, and Stop ends it with what was written", async () => {
    await type(page.getByRole('textbox', { name: 'Message' }), '@assistant tell me everything');
    await openThreadOf(page, 'tell me everything');
    await page.locator('#session-stop').waitFor({ state: 'visible' });
    await answers(page).first().filter({ hasText: 'You asked: tell me everything' }).waitFor();

    await page.locator('#session-stop-button').click();

    const answer = answers(page).first();
    await answer.filter({ hasText: 'Stopped.' }).waitFor();
    await page.locator('#session-stop').waitFor({ state: 'hidden' });
    expect(playground.bedrock?.requests.at(-1)?.outcome).toBe('cancelled');
    const shown = (await answer.locator('.body').textContent()) ?? '';
    expect(shown).toContain('You asked: tell me everything');
    expect(shown).not.toContain('demo model');
  });
});

describe('the playground page (demo Knowledge Base)', () => {
  it('answers from the Knowledge Base with numbered citations and linked sources (docs/playground.png)', async () => {
    const playground = await startPlayground({ port: 0, knowledgeBase: true, ...FAST });
    const page = await openPage(playground);
    try {
      await type(
        page.getByRole('textbox', { name: 'Message' }),
        '/ask How do refunds work, and when are travel receipts due?',
      );
      await openThreadOf(page, 'when are travel receipts due?');
      const text = await finishedAnswer(page, 1);
      expect(text).toMatch(/\[1\][\s\S]*\[2\]/);
      const sources = answers(page).first().locator('.body ol').last();
      expect(await sources.getByRole('link').allTextContents()).toEqual([
        'Travel and expenses',
        'Refund policy',
      ]);
      expect(await sources.getByRole('link').first().getAttribute('href')).toBe(
        'https://intranet.acme-demo.example/handbook/travel-and-expenses',
      );

      const png = await page.screenshot({ type: 'png' });
      expect(png.byteLength).toBeLessThan(400_000);
      await mkdir(dirname(SCREENSHOT), { recursive: true });
      await writeFile(SCREENSHOT, png);
    } finally {
      await page.close();
      await playground.stop();
    }
  });
});

describe('the playground page (--bedrock)', () => {
  it('names the real model, leaves the SDK its own endpoints, and disables the model faults', async () => {
    // Credentials the SDK's chain accepts; nothing is asked, so nothing reaches AWS.
    const credentials = { AWS_ACCESS_KEY_ID: 'AKIDPLAYGROUNDTEST', AWS_SECRET_ACCESS_KEY: 'not-a-secret' };
    const saved = Object.fromEntries(Object.keys(credentials).map((name) => [name, process.env[name]]));
    Object.assign(process.env, credentials);
    const playground = await startPlayground({
      port: 0,
      model: 'bedrock',
      env: { AWS_REGION: 'eu-west-1', BEDROCK_MODEL_ID: 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0' },
    });
    try {
      expect(process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME).toBeUndefined();
      expect(playground.bedrock).toBeNull();
      const page = await openPage(playground);
      expect(await page.locator('#badges').textContent()).toContain(
        'Amazon Bedrock: eu.anthropic.claude-sonnet-4-5-20250929-v1:0 (eu-west-1)',
      );
      expect(await page.getByRole('switch', { name: 'Throttle the model' }).isDisabled()).toBe(true);
      expect(await page.getByRole('switch', { name: 'Slack 429s on chat.appendStream' }).isEnabled()).toBe(
        true,
      );
      await page.close();
    } finally {
      await playground.stop();
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});

describe('npm run playground', () => {
  /** Runs `node playground/start.ts` from an empty directory (no .env) with only the given environment. */
  function run(args: string[], env: Record<string, string>, cwd: string): ChildProcess {
    return spawn(process.execPath, [join(root, 'playground', 'start.ts'), ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: cwd, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  function output(child: ChildProcess): { text: () => string } {
    let text = '';
    child.stdout?.on('data', (chunk) => {
      text += String(chunk);
    });
    child.stderr?.on('data', (chunk) => {
      text += String(chunk);
    });
    return { text: () => text };
  }

  function exited(child: ChildProcess): Promise<number | null> {
    return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  let cwd: string;
  beforeAll(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'playground-cli-'));
  });
  afterAll(async () => {
    await rm(cwd, { recursive: true, force: true });
  });

  it('prints the page URL, serves the page, and stops cleanly on Ctrl-C', async () => {
    const child = run([], { PLAYGROUND_PORT: '0' }, cwd);
    const out = output(child);
    const exit = exited(child);
    let url: string | undefined;
    for (let i = 0; i < 300 && !url; i += 1) {
      url = /Playground: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out.text())?.[1];
      if (!url) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(url, out.text()).toBeDefined();
    const html = await (await fetch(url ?? '')).text();
    expect(html).toContain('aria-label="Message"');
    child.kill('SIGINT');
    expect(await exit).toBe(0);
  }, 30_000);

  it('says in one message that --bedrock found no AWS credentials', async () => {
    const child = run(['--bedrock'], { AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' }, cwd);
    const out = output(child);
    expect(await exited(child)).toBe(1);
    expect(out.text()).toContain('playground: --bedrock found no AWS credentials');
    expect(out.text()).toContain('Without --bedrock the playground uses its demo model');
  }, 30_000);
});
