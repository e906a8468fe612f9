/**
 * Slack's documented limits on the Web API methods and Block Kit the bot uses, checked before a
 * method runs, with the error code Slack answers. Each limit names its page on docs.slack.dev (paths below are under
 * https://docs.slack.dev/reference/ where shortened).
 * Messages answer `invalid_blocks` (or `msg_too_long`, `msg_blocks_too_long`), views
 * `invalid_arguments`, streaming calls `invalid_chunks` / `msg_blocks_too_many`; the detail goes in
 * `response_metadata.messages`, as Slack puts it.
 *
 * @example
 * const refusal = slackLimitViolation('views.open', { trigger_id, view }); // undefined when valid
 * refusal; // { ok: false, error: 'invalid_arguments', response_metadata: { messages: ['[ERROR] …'] } }
 */

type Json = Record<string, unknown>;
export type SlackRefusal = {
  ok: false;
  error: string;
  response_metadata: { messages: string[] };
  [key: string]: unknown;
};

/** The numbers, each from the page named beside it. */
export const SLACK_LIMITS = {
  // https://docs.slack.dev/reference/methods/chat.postMessage ("text": truncated past 40,000, refused with msg_too_long)
  messageTextChars: 40_000,
  // https://docs.slack.dev/reference/methods/chat.update ("text": at most 4,000 characters; msg_too_long)
  updateTextChars: 4_000,
  // https://docs.slack.dev/reference/block-kit/blocks: 50 blocks in a message, 100 in a modal or Home tab
  messageBlocks: 50,
  viewBlocks: 100,
  // https://docs.slack.dev/reference/block-kit/blocks/markdown-block: 12,000 characters for all markdown blocks of a payload
  markdownChars: 12_000,
  // https://docs.slack.dev/reference/methods/chat.startStream, chat.appendStream, chat.stopStream: markdown_text 12,000
  streamMarkdownChars: 12_000,
  // https://docs.slack.dev/reference/block-kit/composition-objects/text-object: 1..3,000 characters
  textObjectChars: 3_000,
  // https://docs.slack.dev/reference/block-kit/blocks/section-block: text 3,000; fields 10, each 2,000; block_id 255
  sectionFields: 10,
  sectionFieldChars: 2_000,
  blockIdChars: 255,
  // https://docs.slack.dev/reference/block-kit/blocks/header-block: plain_text, 150 characters
  headerChars: 150,
  // https://docs.slack.dev/reference/block-kit/blocks/context-block: 1..10 elements
  contextElements: 10,
  // https://docs.slack.dev/reference/block-kit/blocks/actions-block: 1..25 elements
  actionsElements: 25,
  // https://docs.slack.dev/reference/block-kit/blocks/context-actions-block: 1..5 elements
  contextActionsElements: 5,
  // https://docs.slack.dev/reference/block-kit/blocks/input-block: label and hint plain_text, 2,000 characters
  inputLabelChars: 2_000,
  // https://docs.slack.dev/reference/block-kit/block-elements/button-element: text 75, value 2,000, url 3,000, action_id 255
  buttonTextChars: 75,
  buttonValueChars: 2_000,
  urlChars: 3_000,
  actionIdChars: 255,
  // https://docs.slack.dev/reference/block-kit/composition-objects/option-object: text 75, value 150, description 75
  optionTextChars: 75,
  optionValueChars: 150,
  // https://docs.slack.dev/reference/block-kit/block-elements/select-menu-element: 100 options, placeholder 150
  selectOptions: 100,
  placeholderChars: 150,
  // https://docs.slack.dev/reference/block-kit/block-elements/plain-text-input-element: min_length 0..3,000, max_length 1..3,000
  plainTextInputMaxLength: 3_000,
  // https://docs.slack.dev/reference/views/modal-views (view object): title, submit, close 24; private_metadata 3,000; callback_id 255
  viewTitleChars: 24,
  privateMetadataChars: 3_000,
  callbackIdChars: 255,
  // https://docs.slack.dev/reference/methods/assistant.threads.setStatus: loading_messages at most 10
  loadingMessages: 10,
  // https://docs.slack.dev/reference/methods/assistant.threads.setSuggestedPrompts: at most 4 prompts
  suggestedPrompts: 4,
} as const;

class Refused extends Error {
  readonly code: string;
  constructor(code: string, detail: string) {
    super(detail);
    this.code = code;
  }
}

function refuse(code: string, detail: string): never {
  throw new Refused(code, detail);
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Web API arguments arrive form-encoded: blocks and views as JSON text. */
function parsed(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function maxChars(value: unknown, limit: number, what: string, code: string): void {
  if (typeof value === 'string' && value.length > limit)
    refuse(code, `${what} must be at most ${limit} characters (${value.length})`);
}

/** Where the blocks are: limits differ in messages and views, and so does the error code. */
interface Surface {
  code: 'invalid_blocks' | 'invalid_arguments';
  /** Characters of markdown blocks so far in this payload. */
  markdown: number;
  blockIds: Set<string>;
}

/** A text object (composition-objects/text-object): plain_text or mrkdwn, 1..3,000 characters. */
function checkText(
  value: unknown,
  where: string,
  surface: Surface,
  options: { plain?: boolean; max?: number } = {},
) {
  if (!isObject(value)) refuse(surface.code, `${where} must be a text object`);
  if (value.type !== 'plain_text' && value.type !== 'mrkdwn')
    refuse(surface.code, `${where}.type must be plain_text or mrkdwn`);
  if (options.plain && value.type !== 'plain_text') refuse(surface.code, `${where} must be plain_text`);
  if (typeof value.text !== 'string' || value.text.length === 0)
    refuse(surface.code, `${where}.text must be a non-empty string`);
  if (value.type === 'mrkdwn' && 'emoji' in value)
    refuse(surface.code, `${where}: emoji is for plain_text only`);
  maxChars(
    value.text,
    Math.min(options.max ?? SLACK_LIMITS.textObjectChars, SLACK_LIMITS.textObjectChars),
    `${where}.text`,
    surface.code,
  );
}

function checkActionId(element: Json, where: string, surface: Surface, seen: Set<string>): void {
  if (element.action_id === undefined) return;
  maxChars(element.action_id, SLACK_LIMITS.actionIdChars, `${where}.action_id`, surface.code);
  // block-kit/block-elements: action_id "should be unique among all other action_ids in the containing block"
  const id = String(element.action_id);
  if (seen.has(id)) refuse(surface.code, `${where}.action_id ${id} is used twice in one block`);
  seen.add(id);
}

function checkOption(option: unknown, where: string, surface: Surface): void {
  if (!isObject(option)) refuse(surface.code, `${where} must be an option object`);
  checkText(option.text, `${where}.text`, surface, { max: SLACK_LIMITS.optionTextChars });
  if (typeof option.value !== 'string') refuse(surface.code, `${where}.value is required`);
  maxChars(option.value, SLACK_LIMITS.optionValueChars, `${where}.value`, surface.code);
  if (option.description !== undefined)
    checkText(option.description, `${where}.description`, surface, {
      plain: true,
      max: SLACK_LIMITS.optionTextChars,
    });
}

/** The block elements the bot uses, with their documented limits; any other type is refused. */
function checkElement(element: unknown, where: string, surface: Surface, actionIds: Set<string>): void {
  if (!isObject(element)) refuse(surface.code, `${where} must be an element object`);
  checkActionId(element, where, surface, actionIds);
  if (element.placeholder !== undefined)
    checkText(element.placeholder, `${where}.placeholder`, surface, {
      plain: true,
      max: SLACK_LIMITS.placeholderChars,
    });
  switch (element.type) {
    case 'button':
      checkText(element.text, `${where}.text`, surface, { plain: true, max: SLACK_LIMITS.buttonTextChars });
      maxChars(element.value, SLACK_LIMITS.buttonValueChars, `${where}.value`, surface.code);
      maxChars(element.url, SLACK_LIMITS.urlChars, `${where}.url`, surface.code);
      if (element.style !== undefined && element.style !== 'primary' && element.style !== 'danger')
        refuse(surface.code, `${where}.style must be primary or danger`);
      return;
    case 'static_select': {
      const options = element.options;
      if (!Array.isArray(options) || options.length === 0)
        refuse(surface.code, `${where}.options must list at least one option`);
      if (options.length > SLACK_LIMITS.selectOptions)
        refuse(surface.code, `${where}.options must have at most ${SLACK_LIMITS.selectOptions} items`);
      for (const [index, option] of options.entries())
        checkOption(option, `${where}.options[${index}]`, surface);
      if (element.initial_option !== undefined) {
        checkOption(element.initial_option, `${where}.initial_option`, surface);
        // select-menu-element: initial_option "must exactly match one of the options"
        const initial = JSON.stringify(element.initial_option);
        if (!options.some((option) => JSON.stringify(option) === initial))
          refuse(surface.code, `${where}.initial_option must be one of the options`);
      }
      return;
    }
    case 'conversations_select':
    case 'channels_select':
    case 'users_select':
      return;
    case 'plain_text_input': {
      const { min_length: min, max_length: max } = element;
      if (min !== undefined && !(Number.isInteger(min) && (min as number) >= 0 && (min as number) <= 3_000))
        refuse(surface.code, `${where}.min_length must be between 0 and 3000`);
      if (
        max !== undefined &&
        !(
          Number.isInteger(max) &&
          (max as number) >= 1 &&
          (max as number) <= SLACK_LIMITS.plainTextInputMaxLength
        )
      )
        refuse(
          surface.code,
          `${where}.max_length must be between 1 and ${SLACK_LIMITS.plainTextInputMaxLength}`,
        );
      return;
    }
    case 'feedback_buttons':
      // block-kit/block-elements/feedback-buttons-element: two buttons of text (75) and value (2,000)
      for (const side of ['positive_button', 'negative_button'] as const) {
        const button = element[side];
        if (!isObject(button)) refuse(surface.code, `${where}.${side} is required`);
        checkText(button.text, `${where}.${side}.text`, surface, {
          plain: true,
          max: SLACK_LIMITS.buttonTextChars,
        });
        if (typeof button.value !== 'string') refuse(surface.code, `${where}.${side}.value is required`);
        maxChars(button.value, SLACK_LIMITS.buttonValueChars, `${where}.${side}.value`, surface.code);
      }
      return;
    case 'icon_button':
      checkText(element.text, `${where}.text`, surface, { plain: true, max: SLACK_LIMITS.buttonTextChars });
      return;
    case 'image':
      if (typeof element.alt_text !== 'string') refuse(surface.code, `${where}.alt_text is required`);
      return;
    default:
      refuse(surface.code, `${where}.type ${String(element.type)} is not a block element the stand-in knows`);
  }
}

function checkElements(
  elements: unknown,
  where: string,
  surface: Surface,
  max: number,
  each: (element: unknown, at: string, actionIds: Set<string>) => void,
): void {
  if (!Array.isArray(elements) || elements.length === 0)
    refuse(surface.code, `${where}.elements must have at least one element`);
  if (elements.length > max)
    refuse(surface.code, `${where}.elements must have at most ${max} items (${elements.length})`);
  const actionIds = new Set<string>();
  for (const [index, element] of elements.entries()) each(element, `${where}.elements[${index}]`, actionIds);
}

function checkBlock(block: unknown, where: string, surface: Surface): void {
  if (!isObject(block) || typeof block.type !== 'string') refuse(surface.code, `${where} has no type`);
  if (block.block_id !== undefined) {
    maxChars(block.block_id, SLACK_LIMITS.blockIdChars, `${where}.block_id`, surface.code);
    // block-kit/blocks: block_id "should be unique for each message or view"
    if (surface.blockIds.has(String(block.block_id)))
      refuse(surface.code, `${where}.block_id ${String(block.block_id)} is used twice`);
    surface.blockIds.add(String(block.block_id));
  }
  const actionIds = new Set<string>();
  switch (block.type) {
    case 'section':
      if (block.text === undefined && block.fields === undefined)
        refuse(surface.code, `${where} needs text or fields`);
      if (block.text !== undefined) checkText(block.text, `${where}.text`, surface);
      if (block.fields !== undefined) {
        if (!Array.isArray(block.fields) || block.fields.length > SLACK_LIMITS.sectionFields)
          refuse(surface.code, `${where}.fields must have at most ${SLACK_LIMITS.sectionFields} items`);
        for (const [index, field] of (block.fields as unknown[]).entries())
          checkText(field, `${where}.fields[${index}]`, surface, { max: SLACK_LIMITS.sectionFieldChars });
      }
      if (block.accessory !== undefined)
        checkElement(block.accessory, `${where}.accessory`, surface, actionIds);
      return;
    case 'header':
      checkText(block.text, `${where}.text`, surface, { plain: true, max: SLACK_LIMITS.headerChars });
      return;
    case 'divider':
      return;
    case 'context':
      checkElements(block.elements, where, surface, SLACK_LIMITS.contextElements, (element, at) => {
        if (isObject(element) && element.type === 'image') {
          if (typeof element.alt_text !== 'string') refuse(surface.code, `${at}.alt_text is required`);
        } else checkText(element, at, surface);
      });
      return;
    case 'actions':
      checkElements(block.elements, where, surface, SLACK_LIMITS.actionsElements, (element, at, ids) =>
        checkElement(element, at, surface, ids),
      );
      return;
    case 'context_actions':
      checkElements(
        block.elements,
        where,
        surface,
        SLACK_LIMITS.contextActionsElements,
        (element, at, ids) => {
          if (!isObject(element) || (element.type !== 'feedback_buttons' && element.type !== 'icon_button'))
            refuse(surface.code, `${at} must be feedback_buttons or icon_button`);
          checkElement(element, at, surface, ids);
        },
      );
      return;
    case 'input':
      if (surface.code === 'invalid_blocks') refuse(surface.code, `${where}: input blocks belong in views`);
      checkText(block.label, `${where}.label`, surface, { plain: true, max: SLACK_LIMITS.inputLabelChars });
      if (block.hint !== undefined)
        checkText(block.hint, `${where}.hint`, surface, { plain: true, max: SLACK_LIMITS.inputLabelChars });
      if (block.element === undefined) refuse(surface.code, `${where}.element is required`);
      checkElement(block.element, `${where}.element`, surface, actionIds);
      return;
    case 'markdown': {
      if (typeof block.text !== 'string' || block.text.length === 0)
        refuse(surface.code, `${where}.text must be a non-empty string`);
      surface.markdown += block.text.length;
      if (surface.markdown > SLACK_LIMITS.markdownChars)
        refuse(
          surface.code,
          `markdown blocks hold at most ${SLACK_LIMITS.markdownChars} characters in all (${surface.markdown})`,
        );
      return;
    }
    case 'rich_text':
    case 'image':
    case 'task_card':
    case 'plan':
    case 'table':
      // Not sent by the bot's own code paths today; their inner limits are not enforced here.
      return;
    default:
      refuse(surface.code, `${where}.type ${block.type} is not a block type`);
  }
}

/** Checks a blocks array for a message (50) or a view (100). */
export function checkBlocks(blocks: unknown, surface: Surface, max: number, where = 'blocks'): void {
  if (!Array.isArray(blocks)) refuse(surface.code, `${where} must be an array`);
  if (blocks.length > max) refuse(surface.code, `${where} must have at most ${max} items (${blocks.length})`);
  for (const [index, block] of blocks.entries()) checkBlock(block, `${where}[${index}]`, surface);
}

function messageSurface(): Surface {
  return { code: 'invalid_blocks', markdown: 0, blockIds: new Set() };
}

/** chat.postMessage, chat.postEphemeral, chat.update: text and blocks. */
function checkMessage(args: Json, textLimit: number): void {
  if (typeof args.text === 'string' && args.text.length > textLimit)
    refuse('msg_too_long', `text must be at most ${textLimit} characters (${args.text.length})`);
  if (args.blocks !== undefined && args.blocks !== '')
    checkBlocks(parsed(args.blocks), messageSurface(), SLACK_LIMITS.messageBlocks);
}

const TASK_STATUSES = new Set(['pending', 'in_progress', 'complete', 'error']);

/** chat.startStream / appendStream / stopStream: markdown_text, chunks, blocks. */
function checkStream(args: Json): void {
  maxChars(args.markdown_text, SLACK_LIMITS.streamMarkdownChars, 'markdown_text', 'msg_too_long');
  const chunks = parsed(args.chunks);
  let chunkBlocks = 0;
  if (chunks !== undefined) {
    if (!Array.isArray(chunks)) refuse('invalid_chunks', 'chunks must be an array');
    let markdown = typeof args.markdown_text === 'string' ? args.markdown_text.length : 0;
    for (const [index, chunk] of chunks.entries()) {
      const at = `chunks[${index}]`;
      if (!isObject(chunk)) refuse('invalid_chunks', `${at} must be an object`);
      // methods/chat.appendStream: chunk types markdown_text, task_update, plan_update, blocks
      if (chunk.type === 'markdown_text') {
        if (typeof chunk.text !== 'string') refuse('invalid_chunks', `${at}.text is required`);
        markdown += String(chunk.text).length;
      } else if (chunk.type === 'task_update') {
        if (typeof chunk.id !== 'string' || typeof chunk.title !== 'string')
          refuse('invalid_chunks', `${at} needs id and title`);
        if (!TASK_STATUSES.has(String(chunk.status)))
          refuse('invalid_chunks', `${at}.status must be pending, in_progress, complete or error`);
        if (chunk.sources !== undefined) {
          if (!Array.isArray(chunk.sources)) refuse('invalid_chunks', `${at}.sources must be an array`);
          for (const source of chunk.sources as unknown[])
            if (
              !isObject(source) ||
              source.type !== 'url' ||
              typeof source.url !== 'string' ||
              typeof source.text !== 'string'
            )
              refuse('invalid_chunks', `${at}.sources items are {type: 'url', url, text}`);
        }
      } else if (chunk.type === 'plan_update') {
        if (typeof chunk.title !== 'string') refuse('invalid_chunks', `${at}.title is required`);
      } else if (chunk.type === 'blocks') {
        if (!Array.isArray(chunk.blocks)) refuse('invalid_chunks', `${at}.blocks must be an array`);
        checkBlocks(chunk.blocks, messageSurface(), SLACK_LIMITS.messageBlocks, `${at}.blocks`);
        chunkBlocks += (chunk.blocks as unknown[]).length;
      } else refuse('invalid_chunks', `${at}.type ${String(chunk.type)} is not a chunk type`);
    }
    if (markdown > SLACK_LIMITS.streamMarkdownChars)
      refuse(
        'msg_too_long',
        `markdown_text and markdown_text chunks hold at most ${SLACK_LIMITS.streamMarkdownChars} characters`,
      );
  }
  // PLATFORM-FACTS: msg_blocks_too_many past 50 blocks in a call's chunks (plus 50 in `blocks`)
  if (chunkBlocks > SLACK_LIMITS.messageBlocks)
    refuse('msg_blocks_too_many', `chunks hold ${chunkBlocks} blocks; at most ${SLACK_LIMITS.messageBlocks}`);
  const blocks = parsed(args.blocks);
  if (blocks !== undefined && blocks !== '')
    checkBlocks(blocks, messageSurface(), SLACK_LIMITS.messageBlocks);
}

/** views.open / views.update / views.push / views.publish: the view object. */
function checkView(args: Json): void {
  const view = parsed(args.view);
  if (!isObject(view)) refuse('invalid_arguments', 'view must be an object');
  const surface: Surface = { code: 'invalid_arguments', markdown: 0, blockIds: new Set() };
  if (view.type === 'modal') {
    // views/modal-views: title is required; title, submit and close are plain_text of 24 characters
    checkText(view.title, 'view.title', surface, { plain: true, max: SLACK_LIMITS.viewTitleChars });
    for (const button of ['submit', 'close'] as const)
      if (view[button] !== undefined)
        checkText(view[button], `view.${button}`, surface, { plain: true, max: SLACK_LIMITS.viewTitleChars });
    const hasInput =
      Array.isArray(view.blocks) && view.blocks.some((block) => isObject(block) && block.type === 'input');
    if (hasInput && view.submit === undefined)
      refuse('invalid_arguments', 'a modal with input blocks needs submit');
  } else if (view.type !== 'home') refuse('invalid_arguments', 'view.type must be modal or home');
  maxChars(
    view.private_metadata,
    SLACK_LIMITS.privateMetadataChars,
    'view.private_metadata',
    'invalid_arguments',
  );
  maxChars(view.callback_id, SLACK_LIMITS.callbackIdChars, 'view.callback_id', 'invalid_arguments');
  maxChars(view.external_id, SLACK_LIMITS.callbackIdChars, 'view.external_id', 'invalid_arguments');
  checkBlocks(view.blocks, surface, SLACK_LIMITS.viewBlocks, 'view.blocks');
}

/** The method-specific checks; methods not listed have no content limits the bot can break. */
const METHOD_CHECKS: Record<string, (args: Json) => void> = {
  'chat.postMessage': (args) => checkMessage(args, SLACK_LIMITS.messageTextChars),
  'chat.postEphemeral': (args) => checkMessage(args, SLACK_LIMITS.messageTextChars),
  'chat.update': (args) => checkMessage(args, SLACK_LIMITS.updateTextChars),
  'chat.startStream': checkStream,
  'chat.appendStream': checkStream,
  'chat.stopStream': checkStream,
  'views.open': checkView,
  'views.update': checkView,
  'views.push': checkView,
  'views.publish': checkView,
  'assistant.threads.setStatus': (args) => {
    const messages = parsed(args.loading_messages);
    if (Array.isArray(messages) && messages.length > SLACK_LIMITS.loadingMessages)
      refuse('invalid_arguments', `loading_messages must have at most ${SLACK_LIMITS.loadingMessages} items`);
  },
  'assistant.threads.setSuggestedPrompts': (args) => {
    const prompts = parsed(args.prompts);
    if (!Array.isArray(prompts) || prompts.length === 0) refuse('invalid_arguments', 'prompts is required');
    if (prompts.length > SLACK_LIMITS.suggestedPrompts)
      refuse('invalid_arguments', `prompts must have at most ${SLACK_LIMITS.suggestedPrompts} items`);
    for (const [index, prompt] of prompts.entries())
      if (!isObject(prompt) || typeof prompt.title !== 'string' || typeof prompt.message !== 'string')
        refuse('invalid_arguments', `prompts[${index}] needs title and message`);
  },
  // methods/agents.sessions.setStatus (PLATFORM-FACTS): status is one of four values
  'agents.sessions.setStatus': (args) => {
    if (!['active', 'processing', 'suspended', 'closed'].includes(String(args.status)))
      refuse('invalid_arguments', 'status must be active, processing, suspended or closed');
  },
};

/** Slack's refusal of a call that breaks a documented limit, or undefined when it is within them. */
export function slackLimitViolation(method: string, args: Json): SlackRefusal | undefined {
  try {
    METHOD_CHECKS[method]?.(args);
    return undefined;
  } catch (error) {
    if (!(error instanceof Refused)) throw error;
    return { ok: false, error: error.code, response_metadata: { messages: [`[ERROR] ${error.message}`] } };
  }
}
