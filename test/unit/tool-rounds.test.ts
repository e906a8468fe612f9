import { describe, expect, it } from 'vitest';
import type { Turn } from '../../src/conversation/ports.ts';
import { trimToBudget } from '../../src/conversation/thread-history.ts';
import { flattenToolRounds } from '../../src/conversation/tool-rounds.ts';

const round = (resultChars: number): Turn[] => [
  { role: 'user', text: 'where is order 1?' },
  {
    role: 'assistant',
    text: 'Looking.',
    toolUses: [{ id: 't1', name: 'shop__order_status', input: { order_id: '1' } }],
  },
  {
    role: 'user',
    text: '',
    toolResults: [{ toolUseId: 't1', status: 'success', text: 'x'.repeat(resultChars) }],
  },
  { role: 'assistant', text: 'It shipped.' },
];

describe('earlier tool rounds in a request', () => {
  it('go as text, calls and results, with no tool blocks', () => {
    const flat = flattenToolRounds(round(20));

    expect(flat.every((turn) => !turn.toolUses && !turn.toolResults)).toBe(true);
    expect(flat[1]?.text).toBe('Looking.\n[called shop__order_status with {"order_id":"1"}]');
    expect(flat[2]?.text).toBe(`[result] ${'x'.repeat(20)}`);
  });

  it('shorten a long result first, so the answers around it are kept within the budget', () => {
    const history = round(40_000);

    const flat = flattenToolRounds(history);
    const trimmed = trimToBudget(history, { role: 'user', text: 'and order 2?' }, 1_000);

    expect(flat[2]?.text.length).toBeLessThan(1_100);
    expect(flat[2]?.text).toMatch(/…\(shortened\)$/);
    expect(trimmed.droppedTurns).toBe(0);
  });
});
