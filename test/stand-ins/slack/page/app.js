// The playground page: a Slack-like client for alice (U0001), fed by the Slack stand-in's event
// stream. Markdown goes through marked with raw HTML escaped; mrkdwn through a small renderer that
// shows escaped control sequences as text. Nothing here talks to the bot directly: every action goes
// to the stand-in, which sends it to the bot the way Slack would.
import { Marked } from './vendor/marked.esm.js';

const state = {
  info: null,
  channels: new Map(),
  users: new Map(),
  messages: new Map(),
  switches: new Map(),
  statuses: new Map(),
  sessions: new Map(),
  prompts: new Map(),
  current: 'C0001',
  thread: null,
  scrollToEnd: true,
};

const $ = (id) => document.getElementById(id);

// ---- escaping and links ----

function escapeHtml(text) {
  return String(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function decodeSlackEntities(text) {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function safeUrl(url) {
  return /^(https?:|mailto:)/i.test(String(url ?? '').trim());
}

function link(href, labelHtml) {
  if (!safeUrl(href)) return labelHtml;
  return `<a href="${escapeHtml(href)}" target="_blank" rel="noopener noreferrer">${labelHtml}</a>`;
}

function userName(id) {
  return state.users.get(id)?.name ?? id;
}

function channelName(id) {
  const channel = state.channels.get(id);
  if (!channel) return id;
  return channel.isIm ? userName(channel.user ?? '') : channel.name;
}

/** One Slack control sequence (`@U…`, `#C…`, `!here`, `https://…|label`), as HTML. */
function controlHtml(inner) {
  const [target, label] = inner.split('|', 2);
  if (/^@[UW][A-Z0-9]+$/.test(target)) {
    return `<span class="mention">@${escapeHtml(userName(target.slice(1)))}</span>`;
  }
  if (/^#C[A-Z0-9]+$/.test(target)) {
    return `<span class="mention">#${escapeHtml(label ?? channelName(target.slice(1)))}</span>`;
  }
  if (/^!(here|channel|everyone)$/.test(target)) {
    return `<span class="mention broadcast">@${target.slice(1)}</span>`;
  }
  if (/^!subteam\^/.test(target))
    return `<span class="mention broadcast">${escapeHtml(label ?? '@group')}</span>`;
  if (/^!date\^/.test(target)) return escapeHtml(label ?? '');
  if (safeUrl(target)) return link(target, escapeHtml(decodeSlackEntities(label ?? target)));
  return null;
}

// ---- mrkdwn ----

/** Slack's mrkdwn: *bold*, _italic_, ~strike~, `code`, ```pre```, > quotes, <control sequences>. */
function renderMrkdwn(text) {
  const held = [];
  const hold = (html) => `\uE000${held.push(html) - 1}\uE000`;
  let out = String(text ?? '').replace(/\uE000/g, '');
  out = out.replace(/```([\s\S]*?)```/g, (_, code) =>
    hold(`<pre>${escapeHtml(decodeSlackEntities(code.replace(/^\n/, '')))}</pre>`),
  );
  out = out.replace(/`([^`\n]+)`/g, (_, code) =>
    hold(`<code>${escapeHtml(decodeSlackEntities(code))}</code>`),
  );
  out = out.replace(/<([^<>]+)>/g, (whole, inner) => {
    const html = controlHtml(inner);
    return html === null ? whole : hold(html);
  });
  out = escapeHtml(decodeSlackEntities(out));
  const edge = '(^|[\\s(\\uE000])';
  const after = '(?=$|[\\s.,;:!?)\\uE000])';
  out = out.replace(new RegExp(`${edge}\\*(?!\\s)([^*\\n]+?)\\*${after}`, 'gm'), '$1<strong>$2</strong>');
  out = out.replace(new RegExp(`${edge}_(?!\\s)([^_\\n]+?)_${after}`, 'gm'), '$1<em>$2</em>');
  out = out.replace(new RegExp(`${edge}~(?!\\s)([^~\\n]+?)~${after}`, 'gm'), '$1<del>$2</del>');
  out = out
    .split('\n')
    .map((line) => (line.startsWith('&gt; ') ? `<blockquote>${line.slice(5)}</blockquote>` : line))
    .join('\n')
    .replace(/\n/g, '<br>');
  return out.replace(/\uE000(\d+)\uE000/g, (_, index) => held[Number(index)]);
}

// ---- Markdown (markdown_text, markdown blocks) ----

const markdown = new Marked({
  gfm: true,
  breaks: true,
  renderer: {
    // Raw HTML from the model is shown as text, never interpreted.
    html({ text }) {
      return escapeHtml(text);
    },
    link({ href, tokens }) {
      return link(href, this.parser.parseInline(tokens));
    },
    image({ href, text }) {
      return link(href, `▣ ${escapeHtml(text || href)}`);
    },
  },
});

function renderMarkdown(text) {
  const html = markdown.parse(String(text ?? ''), { async: false });
  // Control sequences that reached Slack unescaped would ping or link: show them as Slack would.
  return html.replace(
    /&lt;((?:@[UW]|#C)[A-Z0-9]+|!(?:here|channel|everyone))(?:\|([^&<]*))?&gt;/g,
    (whole, target, label) => {
      return controlHtml(label === undefined ? target : `${target}|${label}`) ?? whole;
    },
  );
}

// ---- blocks ----

function textObject(text) {
  if (!text || typeof text !== 'object') return '';
  return text.type === 'mrkdwn' ? renderMrkdwn(text.text) : escapeHtml(text.text ?? '');
}

function buttonHtml(element, blockId, extraClass = '') {
  const label = element.text?.text ?? element.value ?? 'Button';
  const style = element.style === 'primary' ? 'primary' : element.style === 'danger' ? 'danger' : '';
  if (element.url && safeUrl(element.url)) {
    return `<a class="${style}" href="${escapeHtml(element.url)}" target="_blank" rel="noopener noreferrer">${escapeHtml(label)}</a>`;
  }
  return `<button type="button" class="${style} ${extraClass}" data-action-id="${escapeHtml(element.action_id ?? '')}" data-block-id="${escapeHtml(blockId ?? '')}" data-value="${escapeHtml(element.value ?? '')}" data-type="${escapeHtml(element.type ?? 'button')}" data-text="${escapeHtml(label)}">${escapeHtml(label)}</button>`;
}

function elementsHtml(elements, blockId) {
  return (elements ?? [])
    .map((element) => {
      if (element.type === 'button') return buttonHtml(element, blockId);
      if (element.type === 'feedback_buttons') {
        return [
          { ...element.positive_button, action_id: element.action_id, type: 'feedback_buttons', emoji: '▲' },
          { ...element.negative_button, action_id: element.action_id, type: 'feedback_buttons', emoji: '▼' },
        ]
          .map((button) =>
            buttonHtml(
              { ...button, text: { text: `${button.emoji} ${button.text?.text ?? ''}`.trim() } },
              blockId,
              'feedback',
            ),
          )
          .join('');
      }
      if (element.type === 'icon_button')
        return buttonHtml({ ...element, text: element.text ?? { text: '⋯' } }, blockId);
      return `<span class="unknown-block">[${escapeHtml(element.type ?? 'element')}]</span>`;
    })
    .join('');
}

function renderBlocks(blocks, fallbackText) {
  return blocks
    .map((block) => {
      switch (block.type) {
        case 'section': {
          const fields = (block.fields ?? []).map((field) => `<div>${textObject(field)}</div>`).join('');
          const accessory =
            block.accessory?.type === 'button'
              ? `<div class="block-actions">${buttonHtml(block.accessory, block.block_id)}</div>`
              : '';
          return `<div class="section">${textObject(block.text)}${fields ? `<div class="fields">${fields}</div>` : ''}${accessory}</div>`;
        }
        case 'markdown':
          return `<div class="markdown-block">${renderMarkdown(block.text)}</div>`;
        case 'context': {
          const parts = (block.elements ?? []).map((element) =>
            element.type === 'image' ? `▣ ${escapeHtml(element.alt_text ?? '')}` : textObject(element),
          );
          return `<div class="context-block">${parts.join(' ')}</div>`;
        }
        case 'header':
          return `<h3>${escapeHtml(block.text?.text ?? '')}</h3>`;
        case 'divider':
          return '<hr>';
        case 'actions':
        case 'context_actions':
          return `<div class="block-actions">${elementsHtml(block.elements, block.block_id)}</div>`;
        case 'image':
          return `<div class="context-block">▣ ${escapeHtml(block.alt_text ?? 'image')}</div>`;
        case 'rich_text':
          return renderMrkdwn(fallbackText);
        default:
          return `<div class="unknown-block">[${escapeHtml(block.type ?? 'unknown')} block]</div>`;
      }
    })
    .join('');
}

// ---- messages ----

const TASK_ICONS = { pending: '○', in_progress: '◔', complete: '✓', error: '✗' };
const AVATAR_COLORS = ['#2bac76', '#e8912d', '#1d9bd1', '#e01e5a', '#36c5f0'];

function visible(message) {
  return !message.deleted && (message.ephemeralFor === null || message.ephemeralFor === state.info?.viewer);
}

function isTopLevel(message) {
  return message.threadTs === null || message.threadTs === message.ts;
}

function byTs(a, b) {
  return Number(a.ts) - Number(b.ts);
}

function repliesOf(channel, ts) {
  return [...state.messages.values()]
    .filter((m) => m.channel === channel && m.threadTs === ts && m.ts !== ts && visible(m))
    .sort(byTs);
}

function bodyHtml(message) {
  if (message.author !== 'bot') return renderMrkdwn(message.text);
  const streamed = message.streamState !== null;
  let html;
  if (message.markdown !== null && (streamed || !message.blocks)) html = renderMarkdown(message.markdown);
  else if (message.blocks?.some((block) => block.type !== 'rich_text'))
    html = renderBlocks(message.blocks, message.text);
  else html = renderMrkdwn(message.text);
  if (streamed && message.blocks) html += renderBlocks(message.blocks, '');
  return html;
}

function avatarFor(message) {
  if (message.author === 'slackbot') return { letter: 'S', color: '#7d3c98' };
  if (message.author === 'bot') return { letter: '✦', color: '#4a154b' };
  const name = userName(message.user ?? '?');
  const index = [...(message.user ?? '')].reduce((sum, c) => sum + c.charCodeAt(0), 0) % AVATAR_COLORS.length;
  return { letter: name.slice(0, 1).toUpperCase(), color: AVATAR_COLORS[index] };
}

function messageElement(message, replies, isRoot = false) {
  const el = document.createElement('li');
  el.className = `msg ${message.author}${message.ephemeralFor ? ' ephemeral' : ''}${isRoot ? ' thread-root' : ''}`;
  el.dataset.ts = message.ts;
  el.dataset.author = message.author;
  if (message.streamState) el.dataset.streamState = message.streamState;

  const avatar = avatarFor(message);
  const name = message.author === 'slackbot' ? 'Slackbot' : userName(message.user ?? 'unknown');
  const time = new Date(Number(message.ts) * 1000).toLocaleTimeString([], {
    hour: '2-digit',
    minute: '2-digit',
  });
  const badges = [
    message.author === 'bot' ? '<span class="app-badge">APP</span>' : '',
    `<time>${escapeHtml(time)}</time>`,
    message.streamState === 'open' ? '<span class="streaming-badge">streaming…</span>' : '',
    message.streamState === 'expired' ? '<span class="streaming-badge">stream expired</span>' : '',
  ].join('');
  const ephemeral = message.ephemeralFor ? '<div class="ephemeral-note">Only visible to you</div>' : '';
  const plan = message.plan ? `<div class="context-block">${escapeHtml(message.plan.title)}</div>` : '';
  const tasks = message.tasks.length
    ? `<ul class="tasks">${message.tasks
        .map(
          (task) =>
            `<li data-status="${escapeHtml(task.status)}">${TASK_ICONS[task.status] ?? '•'} ${escapeHtml(task.title)}${
              task.details ? ` · ${escapeHtml(task.details)}` : ''
            }</li>`,
        )
        .join('')}</ul>`
    : '';
  const cursor = message.streamState === 'open' ? '<span class="cursor" aria-hidden="true"></span>' : '';
  const files = message.files?.length
    ? `<div class="files">${message.files.map((file) => `<span class="file">📎 ${escapeHtml(file.name)}</span>`).join('')}</div>`
    : '';
  const reactions = message.reactions.length
    ? `<div class="reactions">${message.reactions.map((r) => `<span class="reaction">:${escapeHtml(r)}:</span>`).join('')}</div>`
    : '';
  const replyButton =
    replies && replies.length > 0
      ? `<button type="button" class="replies" data-thread="${escapeHtml(message.ts)}">${replies.length} ${
          replies.length === 1 ? 'reply' : 'replies'
        }</button>`
      : '';
  el.innerHTML = `
    <div class="avatar" style="background:${avatar.color}" aria-hidden="true">${escapeHtml(avatar.letter)}</div>
    <div class="content">
      <div class="meta"><span class="name">${escapeHtml(name)}</span>${badges}</div>
      ${ephemeral}${plan}${tasks}
      <div class="body">${bodyHtml(message)}${cursor}</div>
      ${files}${reactions}${replyButton}
    </div>`;
  return el;
}

/** Keeps `container`'s children equal to `items`, re-rendering only what changed. */
function syncList(container, items) {
  const existing = new Map([...container.children].map((el) => [el.dataset.key, el]));
  let previous = null;
  for (const { key, version, render } of items) {
    let el = existing.get(key);
    if (!el || el.version !== version) {
      const fresh = render();
      fresh.dataset.key = key;
      fresh.version = version;
      if (el) el.replaceWith(fresh);
      el = fresh;
    }
    existing.delete(key);
    const wanted = previous ? previous.nextSibling : container.firstChild;
    if (wanted !== el) container.insertBefore(el, wanted);
    previous = el;
  }
  for (const el of existing.values()) el.remove();
}

function messageItem(message, replies, isRoot = false) {
  const replyVersion = replies ? `${replies.length}` : '';
  return {
    key: message.key,
    version: `${JSON.stringify(message)}|${replyVersion}|${isRoot}`,
    render: () => messageElement(message, replies, isRoot),
  };
}

function nearBottom(scroller) {
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
}

function suggestions() {
  const channel = state.channels.get(state.current);
  const kb = Boolean(state.info?.knowledgeBaseLabel) && !state.info.knowledgeBaseLabel.startsWith('off');
  if (channel?.isIm) return ['hello! what can you do?', 'show me some code'];
  if (!channel?.isMember) return ['@assistant are you here?', '/ask what happens when I ask here?'];
  return kb
    ? [
        '/ask how do refunds work?',
        '@assistant what do I do when I get paged?',
        '@assistant can I fly business class?',
      ]
    : [
        '/ask how do refunds work?',
        '@assistant show me some code',
        '@assistant compare the ways to ask you in a table',
      ];
}

function renderChannel() {
  const channel = state.channels.get(state.current);
  $('channel-title').textContent = channel?.isIm
    ? userName(state.info.botUserId)
    : `# ${channel?.name ?? ''}`;
  $('channel-note').textContent = channel?.isIm
    ? 'Direct message with the app'
    : channel?.isMember
      ? 'assistant is a member'
      : 'assistant is not in this channel';
  $('message-input').placeholder = channel?.isIm ? 'Message assistant' : `Message #${channel?.name ?? ''}`;

  const top = [...state.messages.values()]
    .filter((m) => m.channel === state.current && isTopLevel(m) && visible(m))
    .sort(byTs);
  const empty = $('channel-empty');
  if (top.length === 0) {
    empty.hidden = false;
    empty.innerHTML = `<p>Nothing here yet. Try:</p>${suggestions()
      .map((text) => `<button type="button" class="suggestion">${escapeHtml(text)}</button>`)
      .join('')}`;
  } else {
    empty.hidden = true;
  }
  const scroller = $('channel-scroll');
  const stick = state.scrollToEnd || nearBottom(scroller);
  syncList(
    $('channel-messages'),
    top.map((m) => messageItem(m, repliesOf(m.channel, m.ts))),
  );
  if (stick) scroller.scrollTop = scroller.scrollHeight;
  state.scrollToEnd = false;
  renderPrompts();
}

/** Suggested prompts the app set for the Messages tab (its DM); a click sends the prompt. */
function renderPrompts() {
  const box = $('prompts');
  const set = state.channels.get(state.current)?.isIm ? state.prompts.get(state.current) : undefined;
  const prompts = Array.isArray(set?.prompts) ? set.prompts : [];
  box.hidden = prompts.length === 0;
  if (box.hidden) return;
  const title = document.createElement('span');
  title.textContent = set.title ?? 'Suggested';
  box.replaceChildren(
    title,
    ...prompts.map((prompt) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'prompt';
      button.dataset.prompt = prompt.message ?? '';
      button.textContent = prompt.title ?? prompt.message ?? '';
      return button;
    }),
  );
}

function renderThread() {
  const pane = $('thread');
  if (!state.thread) {
    pane.hidden = true;
    return;
  }
  pane.hidden = false;
  const { channel, ts } = state.thread;
  $('thread-channel').textContent = state.channels.get(channel)?.isIm ? '' : `# ${channelName(channel)}`;
  const root = [...state.messages.values()].find((m) => m.channel === channel && m.ts === ts && !m.deleted);
  const replies = repliesOf(channel, ts);
  const items = [];
  if (root) items.push(messageItem(root, null, true));
  items.push({
    key: 'divider',
    version: String(replies.length),
    render: () => {
      const el = document.createElement('li');
      el.className = 'thread-divider';
      el.textContent = `${replies.length} ${replies.length === 1 ? 'reply' : 'replies'}`;
      return el;
    },
  });
  for (const reply of replies) items.push(messageItem(reply, null));
  const scroller = $('thread-scroll');
  const stick = nearBottom(scroller);
  syncList($('thread-messages'), items);
  const status = state.statuses.get(`${channel}:${ts}`);
  $('thread-status').textContent = status ? `assistant ${status}` : '';
  // Slack shows its Stop button while the thread's agent session is processing.
  $('session-stop').hidden = state.sessions.get(`${channel}:${ts}`) !== 'processing';
  if (stick) scroller.scrollTop = scroller.scrollHeight;
}

function renderSidebar() {
  const item = (channel) => {
    const li = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.channel = channel.id;
    button.setAttribute('aria-current', String(channel.id === state.current));
    if (channel.isIm) {
      button.textContent = '● assistant';
    } else {
      button.textContent = `# ${channel.name}`;
      if (!channel.isMember) {
        const dim = document.createElement('span');
        dim.className = 'dim';
        dim.textContent = '(app not in it)';
        button.append(' ', dim);
      }
    }
    li.append(button);
    return li;
  };
  const channels = [...state.channels.values()];
  $('channel-list').replaceChildren(...channels.filter((c) => !c.isIm).map(item));
  $('dm-list').replaceChildren(...channels.filter((c) => c.isIm).map(item));
}

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  setTimeout(() => {
    renderQueued = false;
    renderChannel();
    renderThread();
  }, 16);
}

// ---- side panel ----

function clock(ms) {
  const d = new Date(ms);
  return `${d.toLocaleTimeString([], { hour12: false })}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** Slack's errors are HTTP 200 with ok:false: colour by outcome, show the status as it was. */
function statusClass(call) {
  if (call.status === 429) return 'warn';
  return call.ok ? '' : 'bad';
}

function prepend(list, li, max = 400) {
  list.prepend(li);
  while (list.children.length > max) list.lastElementChild.remove();
}

function addCall(call) {
  const li = document.createElement('li');
  li.className = call.direction;
  li.dataset.method = call.method;
  li.dataset.status = String(call.status);
  const result = call.ok ? 'ok' : call.error;
  const retry = call.retryAfterS !== null ? ` · Retry-After ${call.retryAfterS} s` : '';
  const what = call.direction === 'in' ? `Slack → bot: ${call.method}` : call.method;
  li.innerHTML = `
    <div class="line"><time>${clock(call.atMs)}</time><span class="what">${escapeHtml(what)}</span>
      <span class="status-code ${statusClass(call)}">${call.status}</span>
      <span class="detail">${escapeHtml(result ?? '')}${escapeHtml(retry)}</span></div>
    ${call.summary ? `<div class="detail">${escapeHtml(call.summary)}</div>` : ''}
    ${call.args ? `<details><summary>arguments</summary><pre>${escapeHtml(call.args)}</pre></details>` : ''}`;
  prepend($('call-list'), li);
}

function modelLine(request) {
  const parts = [request.modelId];
  if (request.messages !== null)
    parts.push(`${request.messages} message${request.messages === 1 ? '' : 's'}`);
  if (request.inputTokens !== undefined) {
    parts.push(`tokens in ${request.inputTokens} / out ${request.outputTokens ?? 0}`);
  }
  if (request.firstTokenMs !== undefined) parts.push(`first token ${Math.round(request.firstTokenMs)} ms`);
  if (request.durationMs !== undefined) parts.push(`${(request.durationMs / 1000).toFixed(1)} s`);
  return parts.join(' · ');
}

function upsertModel(request) {
  const list = $('model-list');
  let li = list.querySelector(`[data-id="${CSS.escape(request.id)}"]`);
  if (!li) {
    li = document.createElement('li');
    li.dataset.id = request.id;
    prepend(list, li, 200);
  }
  const outcome = request.outcome ?? 'in progress';
  const bad = request.error ? 'bad' : request.outcome ? '' : 'warn';
  li.innerHTML = `
    <div class="line"><time>${clock(request.atMs)}</time><span class="what">${escapeHtml(request.operation)}</span>
      <span class="status-code ${bad}">${escapeHtml(request.error ?? outcome)}</span></div>
    <div class="detail">${escapeHtml(modelLine(request))}</div>`;
}

function addLog(line) {
  const li = document.createElement('li');
  li.className = `level-${line.level}`;
  li.innerHTML = `<div class="line"><time>${clock(line.atMs)}</time><span class="what">${escapeHtml(line.level)}</span>
    <span>${escapeHtml(line.msg)}</span></div>${line.fields ? `<div class="detail">${escapeHtml(line.fields)}</div>` : ''}`;
  prepend($('log-list'), li, 300);
}

function renderSwitches() {
  const items = [...state.switches.values()].map((item) => {
    const li = document.createElement('li');
    // What the stand-in has applied (the checkbox itself changes at once, before the request).
    li.dataset.switchState = item.on ? 'on' : 'off';
    li.dataset.switchId = item.id;
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.setAttribute('role', 'switch');
    input.id = `switch-${item.id}`;
    input.checked = item.on;
    input.disabled = Boolean(item.disabledReason);
    input.dataset.switch = item.id;
    input.setAttribute('aria-describedby', `switch-${item.id}-description`);
    const label = document.createElement('label');
    label.htmlFor = input.id;
    label.textContent = item.label;
    const description = document.createElement('span');
    description.className = 'description';
    description.id = `switch-${item.id}-description`;
    description.textContent = item.disabledReason ?? item.description;
    const text = document.createElement('div');
    text.append(label, description);
    li.append(input, text);
    return li;
  });
  $('switch-list').replaceChildren(...items);
}

function renderBadges() {
  const { info } = state;
  const badges = [
    { text: info.modelLabel, demo: info.modelIsDemo },
    { text: info.knowledgeBaseLabel },
    { text: info.storeLabel },
  ].filter((badge) => badge.text);
  $('badges').replaceChildren(
    ...badges.map((badge) => {
      const span = document.createElement('span');
      span.className = `badge${badge.demo ? ' demo' : ''}`;
      span.textContent = badge.text;
      if (badge.demo && info.modelDetail) span.title = info.modelDetail;
      return span;
    }),
  );
}

// ---- events from the stand-in ----

function connect() {
  const source = new EventSource('/playground/events');
  source.addEventListener('snapshot', (event) => {
    const snapshot = JSON.parse(event.data);
    state.info = snapshot.info;
    state.channels = new Map(snapshot.channels.map((c) => [c.id, c]));
    state.users = new Map(snapshot.users.map((u) => [u.id, u]));
    state.messages = new Map(snapshot.messages.map((m) => [m.key, m]));
    state.switches = new Map(snapshot.switches.map((s) => [s.id, s]));
    state.statuses = new Map(snapshot.statuses.map((s) => [`${s.channel}:${s.threadTs}`, s.status]));
    state.sessions = new Map(snapshot.sessions.map((s) => [`${s.channel}:${s.threadTs}`, s.status]));
    state.prompts = new Map(snapshot.prompts.map((p) => [p.channel, p]));
    $('call-list').replaceChildren();
    $('model-list').replaceChildren();
    $('log-list').replaceChildren();
    for (const call of snapshot.calls) addCall(call);
    for (const request of snapshot.model) upsertModel(request);
    for (const line of snapshot.logs) addLog(line);
    $('connection').textContent = 'live';
    document.body.dataset.ready = 'true';
    renderBadges();
    renderSwitches();
    renderSidebar();
    state.scrollToEnd = true;
    scheduleRender();
  });
  source.addEventListener('message', (event) => {
    const message = JSON.parse(event.data);
    if (message.deleted) state.messages.delete(message.key);
    else state.messages.set(message.key, message);
    scheduleRender();
  });
  source.addEventListener('status', (event) => {
    const { channel, threadTs, status } = JSON.parse(event.data);
    state.statuses.set(`${channel}:${threadTs}`, status);
    scheduleRender();
  });
  source.addEventListener('session', (event) => {
    const { channel, threadTs, status } = JSON.parse(event.data);
    state.sessions.set(`${channel}:${threadTs}`, status);
    scheduleRender();
  });
  source.addEventListener('prompts', (event) => {
    const prompts = JSON.parse(event.data);
    state.prompts.set(prompts.channel, prompts);
    scheduleRender();
  });
  source.addEventListener('call', (event) => addCall(JSON.parse(event.data)));
  source.addEventListener('model', (event) => upsertModel(JSON.parse(event.data)));
  source.addEventListener('log', (event) => addLog(JSON.parse(event.data)));
  source.addEventListener('switch', (event) => {
    const item = JSON.parse(event.data);
    state.switches.set(item.id, item);
    renderSwitches();
  });
  source.addEventListener('error', () => {
    $('connection').textContent = 'reconnecting…';
  });
}

// ---- what the person does ----

function toast(text) {
  const el = document.createElement('div');
  el.className = 'toast';
  el.setAttribute('role', 'alert');
  el.textContent = text;
  document.body.append(el);
  setTimeout(() => el.remove(), 4000);
}

async function api(name, body) {
  try {
    const response = await fetch(`/playground/api/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const result = await response.json();
    if (!result.ok) toast(`Could not ${name}: ${result.error}${result.detail ? ` (${result.detail})` : ''}`);
    return result;
  } catch (error) {
    toast(`Could not ${name}: ${error.message}`);
    return { ok: false };
  }
}

/** A picked file as the page's API takes it: name, type and the bytes in base64. */
function readFile(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      const data = String(reader.result ?? '');
      resolve({
        name: file.name,
        mimetype: file.type || 'application/octet-stream',
        base64: data.slice(data.indexOf(',') + 1),
      });
    };
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

function composer(formId, inputId, target, fileInputId) {
  const form = $(formId);
  const input = $(inputId);
  const fileInput = fileInputId ? $(fileInputId) : null;
  fileInput?.addEventListener('change', () => {
    $(`${fileInputId}-names`).textContent = [...fileInput.files].map((file) => file.name).join(', ');
  });
  const submit = async () => {
    const text = input.value.trim();
    const picked = fileInput ? [...fileInput.files] : [];
    if (!text && picked.length === 0) return;
    input.value = '';
    const files = await Promise.all(picked.map(readFile));
    if (fileInput) {
      fileInput.value = '';
      $(`${fileInputId}-names`).textContent = '';
    }
    const { channel, threadTs } = target();
    if (!threadTs) state.scrollToEnd = true;
    void api('send', {
      channel,
      text,
      ...(threadTs ? { threadTs } : {}),
      ...(files.length ? { files } : {}),
    });
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void submit();
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      void submit();
    }
  });
}

function openThread(channel, ts) {
  state.thread = { channel, ts };
  $('thread-scroll').scrollTop = 0;
  renderThread();
  $('thread-scroll').scrollTop = $('thread-scroll').scrollHeight;
}

function selectTab(tab) {
  for (const button of document.querySelectorAll('[role="tab"]')) {
    const selected = button === tab;
    button.setAttribute('aria-selected', String(selected));
    $(button.getAttribute('aria-controls')).hidden = !selected;
  }
}

document.addEventListener('click', (event) => {
  const target = event.target instanceof Element ? event.target : null;
  const channelButton = target?.closest('[data-channel]');
  if (channelButton) {
    const previous = state.current;
    state.current = channelButton.dataset.channel;
    state.thread = null;
    state.scrollToEnd = true;
    renderSidebar();
    renderChannel();
    renderThread();
    // Opening the app's DM is opening its Messages tab: Slack tells the app (app_home_opened), and
    // what the person was looking at just before (app_context_changed).
    if (state.channels.get(state.current)?.isIm) {
      const lookingAt = state.channels.get(previous)?.isIm ? undefined : previous;
      void api('open', { channel: state.current, lookingAt });
    }
    return;
  }
  const prompt = target?.closest('[data-prompt]');
  if (prompt) {
    state.scrollToEnd = true;
    void api('send', { channel: state.current, text: prompt.dataset.prompt });
    return;
  }
  const replies = target?.closest('.replies');
  if (replies) {
    const channel = state.thread && replies.closest('#thread') ? state.thread.channel : state.current;
    openThread(channel, replies.dataset.thread);
    return;
  }
  const suggestion = target?.closest('.suggestion');
  if (suggestion) {
    $('message-input').value = suggestion.textContent;
    $('message-input').focus();
    return;
  }
  const action = target?.closest('[data-action-id]');
  if (action) {
    const message = action.closest('.msg');
    void api('action', {
      channel: state.thread && action.closest('#thread') ? state.thread.channel : state.current,
      messageTs: message?.dataset.ts,
      actionId: action.dataset.actionId,
      blockId: action.dataset.blockId,
      value: action.dataset.value,
      type: action.dataset.type,
      text: action.dataset.text,
    });
    return;
  }
  const tab = target?.closest('[role="tab"]');
  if (tab) selectTab(tab);
});

document.addEventListener('change', (event) => {
  const input = event.target;
  if (input instanceof HTMLInputElement && input.dataset.switch) {
    void api('switch', { id: input.dataset.switch, on: input.checked });
  }
});

$('session-stop-button').addEventListener('click', () => {
  if (state.thread) void api('stop', { channel: state.thread.channel, threadTs: state.thread.ts });
});

$('thread-close').addEventListener('click', () => {
  state.thread = null;
  renderThread();
});

composer('message-form', 'message-input', () => ({ channel: state.current }), 'message-file');
composer('reply-form', 'reply-input', () => ({ channel: state.thread?.channel, threadTs: state.thread?.ts }));
connect();
