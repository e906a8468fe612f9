/**
 * The Slack stand-in's limits (block-kit-limits.ts): each documented limit the bot could break is
 * refused with Slack's error code, and what stays within them passes.
 */
import { describe, expect, it } from 'vitest';
import { slackLimitViolation } from './block-kit-limits.ts';

const plain = (text: string) => ({ type: 'plain_text', text });
const mrkdwn = (text: string) => ({ type: 'mrkdwn', text });
const section = (text: string) => ({ type: 'section', text: mrkdwn(text) });
const modal = (blocks: unknown[], extra: Record<string, unknown> = {}) => ({
  view: JSON.stringify({
    type: 'modal',
    title: plain('Channel settings'),
    submit: plain('Save'),
    blocks,
    ...extra,
  }),
});
const promptInput = (maxLength: number) => ({
  type: 'input',
  block_id: 'system_prompt',
  label: plain('System prompt'),
  element: { type: 'plain_text_input', action_id: 'value', multiline: true, max_length: maxLength },
});
const errorOf = (method: string, args: Record<string, unknown>) => slackLimitViolation(method, args)?.error;

describe('messages', () => {
  it('pass within the limits: 50 blocks, text of 40,000 characters to chat.postMessage', () => {
    const blocks = Array.from({ length: 50 }, (_, index) => section(`part ${index}`));

    expect(
      slackLimitViolation('chat.postMessage', { text: 'x'.repeat(40_000), blocks: JSON.stringify(blocks) }),
    ).toBe(undefined);
  });

  it.each([
    ['chat.postMessage', { text: 'x'.repeat(40_001) }, 'msg_too_long'],
    ['chat.update', { text: 'x'.repeat(4_001) }, 'msg_too_long'],
    ['chat.postMessage', { blocks: Array.from({ length: 51 }, () => section('x')) }, 'invalid_blocks'],
    ['chat.postMessage', { blocks: [section('x'.repeat(3_001))] }, 'invalid_blocks'],
    ['chat.postMessage', { blocks: [{ type: 'header', text: plain('x'.repeat(151)) }] }, 'invalid_blocks'],
    ['chat.postMessage', { blocks: [{ type: 'header', text: mrkdwn('*bold*') }] }, 'invalid_blocks'],
    [
      'chat.postMessage',
      { blocks: [{ type: 'section', fields: Array.from({ length: 11 }, () => mrkdwn('f')) }] },
      'invalid_blocks',
    ],
    [
      'chat.postMessage',
      { blocks: [{ type: 'context', elements: Array.from({ length: 11 }, () => mrkdwn('c')) }] },
      'invalid_blocks',
    ],
    [
      'chat.postMessage',
      {
        blocks: [
          { type: 'markdown', text: 'x'.repeat(6_001) },
          { type: 'markdown', text: 'x'.repeat(6_000) },
        ],
      },
      'invalid_blocks',
    ],
    [
      'chat.postMessage',
      {
        blocks: [
          { type: 'actions', elements: [{ type: 'button', text: plain('x'.repeat(76)), action_id: 'a' }] },
        ],
      },
      'invalid_blocks',
    ],
    [
      'chat.postMessage',
      {
        blocks: [
          { type: 'actions', elements: [{ type: 'button', text: plain('ok'), value: 'x'.repeat(2_001) }] },
        ],
      },
      'invalid_blocks',
    ],
    [
      'chat.postMessage',
      {
        blocks: [
          {
            type: 'actions',
            elements: [
              { type: 'button', text: plain('a'), action_id: 'same' },
              { type: 'button', text: plain('b'), action_id: 'same' },
            ],
          },
        ],
      },
      'invalid_blocks',
    ],
    [
      'chat.postMessage',
      { blocks: [section('a'), { ...section('b'), block_id: 'x' }, { ...section('c'), block_id: 'x' }] },
      'invalid_blocks',
    ],
    [
      'chat.postMessage',
      {
        blocks: [
          {
            type: 'context_actions',
            elements: Array.from({ length: 6 }, () => ({ type: 'icon_button', text: plain('i') })),
          },
        ],
      },
      'invalid_blocks',
    ],
    ['chat.postMessage', { blocks: [{ type: 'sparkles' }] }, 'invalid_blocks'],
  ])('%s refuses %j with %s', (method, args, error) => {
    const { blocks } = args as { blocks?: unknown };
    expect(errorOf(method, { ...args, blocks: blocks && JSON.stringify(blocks) })).toBe(error);
  });
});

describe('streaming', () => {
  it('passes markdown_text of 12,000 characters and well-formed chunks', () => {
    const chunks = [
      { type: 'markdown_text', text: 'Hello' },
      {
        type: 'task_update',
        id: 't1',
        title: 'Searching',
        status: 'in_progress',
        sources: [{ type: 'url', url: 'https://a.example', text: 'A' }],
      },
      { type: 'plan_update', title: 'Plan' },
    ];

    expect(
      slackLimitViolation('chat.appendStream', {
        markdown_text: 'x'.repeat(11_995),
        chunks: JSON.stringify(chunks),
      }),
    ).toBe(undefined);
  });

  it.each([
    [{ markdown_text: 'x'.repeat(12_001) }, 'msg_too_long'],
    [{ chunks: [{ type: 'task_update', id: 't1', title: 'x', status: 'done' }] }, 'invalid_chunks'],
    [{ chunks: [{ type: 'markdown_text' }] }, 'invalid_chunks'],
    [{ chunks: [{ type: 'confetti' }] }, 'invalid_chunks'],
    [
      {
        chunks: [1, 2].map(() => ({
          type: 'blocks',
          blocks: Array.from({ length: 26 }, () => ({ type: 'divider' })),
        })),
      },
      'msg_blocks_too_many',
    ],
    [
      {
        chunks: [
          {
            type: 'task_update',
            id: 't',
            title: 't',
            status: 'complete',
            sources: [{ url: 'https://a.example' }],
          },
        ],
      },
      'invalid_chunks',
    ],
  ])('chat.appendStream refuses %j with %s', (args, error) => {
    const { chunks } = args as { chunks?: unknown };
    expect(errorOf('chat.appendStream', { ...args, chunks: chunks && JSON.stringify(chunks) })).toBe(error);
  });
});

describe('views', () => {
  it('open a modal whose plain_text_input allows 3,000 characters', () => {
    expect(slackLimitViolation('views.open', { trigger_id: 't', ...modal([promptInput(3_000)]) })).toBe(
      undefined,
    );
  });

  it('refuse a plain_text_input max_length of 4,000 with invalid_arguments, and say why', () => {
    const refusal = slackLimitViolation('views.open', { trigger_id: 't', ...modal([promptInput(4_000)]) });

    expect(refusal).toEqual({
      ok: false,
      error: 'invalid_arguments',
      response_metadata: {
        messages: ['[ERROR] view.blocks[0].element.max_length must be between 1 and 3000'],
      },
    });
  });

  it.each([
    ['a title over 24 characters', modal([], { title: plain('Channel settings for #general') })],
    ['101 blocks', modal(Array.from({ length: 101 }, () => ({ type: 'divider' })))],
    ['private_metadata over 3,000 characters', modal([], { private_metadata: 'x'.repeat(3_001) })],
    [
      'an input label over 2,000 characters',
      modal([{ ...promptInput(10), label: plain('x'.repeat(2_001)) }]),
    ],
    [
      'a select of 101 options',
      modal([
        {
          type: 'input',
          label: plain('Model'),
          element: {
            type: 'static_select',
            options: Array.from({ length: 101 }, (_, i) => ({ text: plain(`m${i}`), value: `m${i}` })),
          },
        },
      ]),
    ],
    [
      'an option value over 150 characters',
      modal([
        {
          type: 'input',
          label: plain('Model'),
          element: { type: 'static_select', options: [{ text: plain('m'), value: 'x'.repeat(151) }] },
        },
      ]),
    ],
    [
      'an initial_option that is not one of the options',
      modal([
        {
          type: 'input',
          label: plain('Model'),
          element: {
            type: 'static_select',
            options: [{ text: plain('a'), value: 'a' }],
            initial_option: { text: plain('b'), value: 'b' },
          },
        },
      ]),
    ],
  ])('refuse %s', (_what, args) => {
    expect(errorOf('views.open', { trigger_id: 't', ...args })).toBe('invalid_arguments');
  });

  it('hold a Home tab to 100 blocks', () => {
    const home = (count: number) => ({
      view: JSON.stringify({ type: 'home', blocks: Array.from({ length: count }, () => section('x')) }),
    });

    expect(errorOf('views.publish', { user_id: 'U1', ...home(100) })).toBe(undefined);
    expect(errorOf('views.publish', { user_id: 'U1', ...home(101) })).toBe('invalid_arguments');
  });
});

describe('assistant threads', () => {
  it('take at most 10 loading messages and 4 suggested prompts', () => {
    const prompts = (count: number) =>
      JSON.stringify(Array.from({ length: count }, (_, i) => ({ title: `t${i}`, message: 'm' })));

    expect(
      errorOf('assistant.threads.setStatus', {
        status: 'x',
        loading_messages: JSON.stringify(Array(11).fill('…')),
      }),
    ).toBe('invalid_arguments');
    expect(errorOf('assistant.threads.setSuggestedPrompts', { prompts: prompts(4) })).toBe(undefined);
    expect(errorOf('assistant.threads.setSuggestedPrompts', { prompts: prompts(5) })).toBe(
      'invalid_arguments',
    );
  });
});
