/**
 * The bot scopes manifest.yml asks for (a test keeps the two equal). At start-up the bot compares
 * them with the scopes its token was granted and names any that are missing in one warning.
 */
export const REQUIRED_BOT_SCOPES = [
  'app_mentions:read',
  'assistant:write',
  'channels:history',
  'chat:write',
  'commands',
  // Images and documents shared with a question are read with the bot token.
  'files:read',
  'groups:history',
  'im:history',
  'mpim:history',
  // The eyes reaction on a question that waits for the thread's previous answer.
  'reactions:write',
  // The built-in search_slack tool (Real-time Search), when BUILTIN_TOOLS enables it.
  'search:read.public',
  // Admins named by a user group (SETTINGS_ADMIN_USERGROUP_ID): usergroups.users.list.
  'usergroups:read',
  'users:read',
  // The asker's email, for a Knowledge Base that retrieves as the asker (KB_USER_CONTEXT).
  'users:read.email',
] as const;

/** Scopes the manifest asks for that the token lacks; null when Slack did not report scopes. */
export function missingScopes(granted: string[] | undefined): string[] | null {
  if (!granted || granted.length === 0) return null;
  return REQUIRED_BOT_SCOPES.filter((scope) => !granted.includes(scope));
}
