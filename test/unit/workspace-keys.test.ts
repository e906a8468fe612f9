/** Where each workspace's keys sit, and what an uninstall purges. */
import { describe, expect, it } from 'vitest';
import { purgePatterns, workspaceKey } from '../../src/store/workspace-keys.ts';

describe('workspace keys', () => {
  it('puts each workspace under its enterprise and team, and keeps single-workspace keys unscoped', () => {
    expect(workspaceKey({ enterpriseId: 'E1', teamId: 'T1' })).toBe('ws:E1:T1:');
    expect(workspaceKey({ enterpriseId: null, teamId: 'T1' })).toBe('ws:-:T1:');
    expect(workspaceKey(undefined)).toBe('');
    expect(workspaceKey({ enterpriseId: null, teamId: 'T1' }, 'T1')).toBe('');
  });

  it('purges a workspace, its people’s tool tokens, or every workspace of an org', () => {
    expect(purgePatterns({ enterpriseId: 'E1', teamId: 'T1', wholeOrg: false })).toEqual([
      'ws:E1:T1:*',
      'mcp:tokens:*:T1:*',
    ]);
    expect(purgePatterns({ enterpriseId: 'E1', teamId: null, wholeOrg: true })).toEqual(['ws:E1:*']);
    expect(purgePatterns({ enterpriseId: null, teamId: 'T1', wholeOrg: false }, 'T1')).toEqual([
      '{t:T1:*',
      '{c:T1:*',
      '{usage:T1:*',
      'viewing:T1:*',
      'mcp:tokens:*:T1:*',
    ]);
  });
});
