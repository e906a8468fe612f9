/** One answer's view of the shared budget: its reservations, and its part in the fair shares. */
import type { Acquired, AnswerBudget, TokenUse } from './budget.ts';
import type { Desk } from './desk.ts';

/** What an answer's view asks of the shared budget (SharedWriteBudget). */
export interface DeskBudget {
  desk(teamId: string, method: string, channelId: string): Desk | null;
  acquire(items: ReadonlyArray<{ desk: Desk; use: TokenUse }>): Promise<Acquired>;
  intermediate(desk: Desk): Promise<number>;
  paceMs(desk: Desk, flushMs: number): number;
  spendReserved(desk: Desk): void;
  releaseReserved(desk: Desk): void;
  changeDemand(desk: Desk, delta: number): void;
}

export class SharedAnswerBudget implements AnswerBudget {
  readonly #budget: DeskBudget;
  readonly #teamId: string;
  readonly #channelId: string;
  readonly #reserved = new Map<string, number>();
  #wanted: Desk | null = null;

  constructor(budget: DeskBudget, teamId: string, channelId: string) {
    this.#budget = budget;
    this.#teamId = teamId;
    this.#channelId = channelId;
  }

  async acquire(items: ReadonlyArray<{ method: string; use: TokenUse }>) {
    const counted = items.flatMap((item) => {
      const desk = this.#desk(item.method);
      return desk ? [{ desk, use: item.use }] : [];
    });
    if (counted.length === 0) return { ok: true as const };
    const result = await this.#budget.acquire(counted);
    if (result.ok) {
      for (const item of counted)
        if (item.use === 'later')
          this.#reserved.set(item.desk.method, (this.#reserved.get(item.desk.method) ?? 0) + 1);
    }
    return result;
  }

  async intermediate(method: string): Promise<number> {
    const desk = this.#desk(method);
    return desk ? this.#budget.intermediate(desk) : 0;
  }

  paceMs(method: string, flushMs: number): number {
    const desk = this.#desk(method);
    return desk ? this.#budget.paceMs(desk, flushMs) : flushMs;
  }

  spend(method: string): boolean {
    const count = this.#reserved.get(method) ?? 0;
    const desk = this.#desk(method);
    if (count === 0 || !desk) return false;
    this.#reserved.set(method, count - 1);
    this.#budget.spendReserved(desk);
    return true;
  }

  release(method: string): void {
    const count = this.#reserved.get(method) ?? 0;
    const desk = this.#desk(method);
    if (count === 0 || !desk) return;
    this.#reserved.set(method, count - 1);
    this.#budget.releaseReserved(desk);
  }

  wants(method: string | null): void {
    const desk = method === null ? null : this.#desk(method);
    if (desk === this.#wanted) return;
    if (this.#wanted) this.#budget.changeDemand(this.#wanted, -1);
    this.#wanted = desk;
    if (desk) this.#budget.changeDemand(desk, 1);
  }

  close(): void {
    for (const [method, count] of this.#reserved) for (let i = 0; i < count; i += 1) this.release(method);
    this.wants(null);
  }

  #desk(method: string): Desk | null {
    return this.#budget.desk(this.#teamId, method, this.#channelId);
  }
}
