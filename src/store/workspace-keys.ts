/**
 * How stored keys keep workspaces apart. With installation by OAuth every key of a workspace sits
 * under `<prefix>ws:<enterprise or ->:<team>:`, so one prefix finds (and purges) all of it,
 * whatever feature wrote it. Single-workspace mode keeps the keys it always had (no workspace
 * part), and so does the SLACK_BOT_TOKEN workspace after a move to OAuth (`legacyTeamId`).
 */

export interface WorkspaceIds {
  enterpriseId: string | null;
  teamId: string | null;
}

export function workspaceKey(
  workspace: WorkspaceIds | undefined,
  legacyTeamId: string | null = null,
): string {
  if (!workspace || (workspace.enterpriseId === null && workspace.teamId === null)) return '';
  if (legacyTeamId !== null && workspace.teamId === legacyTeamId) return '';
  return `ws:${workspace.enterpriseId ?? '-'}:${workspace.teamId ?? '-'}:`;
}

/**
 * SCAN patterns (after the prefix) of everything kept for a workspace, or for every workspace of an
 * org when the org-wide install goes. The legacy workspace's keys carry its team id in their tags.
 */
export function purgePatterns(
  target: WorkspaceIds & { wholeOrg: boolean },
  legacyTeamId: string | null = null,
): string[] {
  if (target.wholeOrg && target.enterpriseId) return [`ws:${target.enterpriseId}:*`];
  const team = target.teamId;
  if (team === null) return [];
  // People's own tool-server tokens are kept per workspace and person (`mcp:tokens:<server>:<team>:<user>`).
  const personal = `mcp:tokens:*:${team}:*`;
  if (team === legacyTeamId)
    return [`{t:${team}:*`, `{c:${team}:*`, `{usage:${team}:*`, `viewing:${team}:*`, personal];
  return [`${workspaceKey(target)}*`, personal];
}
