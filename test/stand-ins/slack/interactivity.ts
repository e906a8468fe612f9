/**
 * What Slack sends when a person uses a view (a Home tab or a modal): `block_actions` for a click
 * or a pick, `view_submission` for a modal's submit button, built from the view the person sees,
 * so a test can only press what the bot showed. FakeSlack delivers them.
 *
 * @example
 * const payload = blockActionsPayload({ view, user, actionId: 'settings_toggle', teamId, appId, triggerId });
 */
import type { FakeUser, FakeView } from './workspace.ts';

/** What the person does to an element: a button press, an option picked, a conversation picked. */
export interface ViewAction {
  actionId: string;
  /** A static_select option's value (or a radio button's). */
  selectedOption?: string;
  /** A conversations_select / channels_select pick. */
  selectedConversation?: string;
  /** The block the element is in, where several blocks show an element of the same action id. */
  blockId?: string;
}

type Element = Record<string, unknown> & { type: string; action_id?: string };
interface Found {
  blockId: string;
  element: Element;
}

/** Every interactive element of a view with its block, in order. */
function elementsOf(view: FakeView): Found[] {
  const found: Found[] = [];
  for (const raw of view.blocks) {
    const block = raw as {
      type?: string;
      block_id?: string;
      accessory?: Element;
      elements?: Element[];
      element?: Element;
    };
    const blockId = block.block_id ?? '';
    if (block.accessory?.action_id) found.push({ blockId, element: block.accessory });
    if (block.type === 'actions')
      for (const element of block.elements ?? []) found.push({ blockId, element });
    if (block.type === 'input' && block.element) found.push({ blockId, element: block.element });
  }
  return found;
}

function optionWithValue(element: Element, value: string): unknown {
  const options = (element.options ?? []) as Array<{ value?: string }>;
  const option = options.find((candidate) => candidate.value === value);
  if (!option) throw new Error(`FakeSlack: ${element.action_id} offers no option ${value}`);
  return option;
}

function userJson(user: string, teamId: string, people: Map<string, FakeUser>) {
  const name = people.get(user)?.name ?? user;
  return { id: user, username: name, name, team_id: teamId };
}

function viewPayload(view: FakeView, values: Record<string, Record<string, unknown>> = {}) {
  const { user: _user, ...json } = view;
  return { ...json, state: { values }, previous_view_id: null, root_view_id: view.id };
}

export function blockActionsPayload(options: {
  view: FakeView;
  user: string;
  action: ViewAction;
  teamId: string;
  appId: string;
  triggerId: string;
  people: Map<string, FakeUser>;
}): Record<string, unknown> {
  const { view, user, action, teamId, appId, triggerId, people } = options;
  const found = elementsOf(view).find(
    ({ element, blockId }) =>
      element.action_id === action.actionId && (action.blockId === undefined || blockId === action.blockId),
  );
  if (!found)
    throw new Error(`FakeSlack: the ${view.type} view shown to ${user} has no element ${action.actionId}`);
  const { element, blockId } = found;
  const actionTs = (Date.now() / 1000).toFixed(6);
  const base = { action_id: action.actionId, block_id: blockId, type: element.type, action_ts: actionTs };
  let detail: Record<string, unknown>;
  switch (element.type) {
    case 'button':
      detail = { value: element.value, text: element.text };
      break;
    case 'static_select':
    case 'radio_buttons':
      detail = { selected_option: optionWithValue(element, action.selectedOption ?? '') };
      break;
    case 'conversations_select':
    case 'channels_select':
      detail = {
        selected_conversation: action.selectedConversation,
        selected_channel: action.selectedConversation,
      };
      break;
    default:
      throw new Error(`FakeSlack: pressing a ${element.type} is not simulated`);
  }
  return {
    type: 'block_actions',
    user: userJson(user, teamId, people),
    api_app_id: appId,
    token: 'fake-verification-token',
    container: { type: 'view', view_id: view.id },
    trigger_id: triggerId,
    team: { id: teamId, domain: 'fake-workspace' },
    enterprise: null,
    is_enterprise_install: false,
    view: viewPayload(view),
    actions: [{ ...base, ...detail }],
  };
}

/**
 * A modal's submission with `values` by action id (a string for a text input or the value of the
 * option picked; null for an empty input). Inputs not given keep their initial value, as in Slack.
 */
export function viewSubmissionPayload(options: {
  view: FakeView;
  user: string;
  values: Record<string, string | null>;
  teamId: string;
  appId: string;
  triggerId: string;
  people: Map<string, FakeUser>;
}): Record<string, unknown> {
  const { view, user, values, teamId, appId, triggerId, people } = options;
  const state: Record<string, Record<string, unknown>> = {};
  for (const { blockId, element } of elementsOf(view)) {
    const actionId = element.action_id ?? '';
    const given = actionId in values ? values[actionId] : undefined;
    let entry: Record<string, unknown>;
    if (element.type === 'plain_text_input') {
      const value = given === undefined ? ((element.initial_value as string | undefined) ?? null) : given;
      entry = { type: 'plain_text_input', value: value === '' ? null : value };
    } else if (element.type === 'static_select' || element.type === 'radio_buttons') {
      const initial = (element.initial_option as { value?: string } | undefined)?.value;
      const picked = given === undefined ? initial : (given ?? undefined);
      entry = {
        type: element.type,
        selected_option: picked === undefined ? null : optionWithValue(element, picked),
      };
    } else {
      continue;
    }
    state[blockId] = { ...(state[blockId] ?? {}), [actionId]: entry };
  }
  for (const actionId of Object.keys(values))
    if (!elementsOf(view).some(({ element }) => element.action_id === actionId))
      throw new Error(`FakeSlack: the modal has no input ${actionId}`);
  return {
    type: 'view_submission',
    team: { id: teamId, domain: 'fake-workspace' },
    user: userJson(user, teamId, people),
    api_app_id: appId,
    token: 'fake-verification-token',
    trigger_id: triggerId,
    view: viewPayload(view, state),
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
}
