/**
 * The answer's steps (tool calls), shown in its first message: as task cards on a native stream
 * (sent as they change), as lines above the text of a posted message.
 */
import type { ToolStep } from '../../conversation/ports.ts';
import type { UntrustedTextOptions } from '../render/untrusted-text.ts';
import { stepLine } from './message-blocks.ts';
import { planChunk, stepChunk } from './stream-chunks.ts';

export class AnswerSteps {
  /** By id, in first-seen order. */
  readonly #steps = new Map<string, ToolStep>();
  /** Steps whose latest state the stream has not been sent yet (the object sent is compared after). */
  readonly #unsent = new Map<string, ToolStep>();
  /** With more than one step the stream shows them as a plan (a title over the steps), once. */
  #planSent = false;
  /** Steps come from tools: their text takes the untrusted-text path (its trusted link hosts). */
  readonly #untrusted: UntrustedTextOptions;

  constructor(untrusted: UntrustedTextOptions = {}) {
    this.#untrusted = untrusted;
  }

  get size(): number {
    return this.#steps.size;
  }

  show(step: ToolStep): void {
    const shown = { ...step };
    this.#steps.set(step.id, shown);
    this.#unsent.set(step.id, shown);
  }

  /** The steps belong to the answer's first message; true when it has step changes to send. */
  due(page: { serial: number }): boolean {
    return page.serial === 0 && this.#unsent.size > 0;
  }

  /** task_update chunks for the steps that changed since the stream last heard of them. */
  chunks(page: { serial: number }): { chunks: object[]; sent: ToolStep[] } {
    if (page.serial !== 0) return { chunks: [], sent: [] };
    const sent = [...this.#unsent.values()];
    const chunks = sent.map((step) => stepChunk(step, this.#untrusted));
    if (sent.length > 0 && this.#steps.size > 1 && !this.#planSent) {
      // Several steps read as a plan: Slack groups them under a title.
      chunks.unshift(planChunk());
      this.#planSent = true;
    }
    return { chunks, sent };
  }

  /** Forgets the steps a write carried, unless they changed again while it was in flight. */
  sent(sent: ToolStep[]): void {
    for (const step of sent) if (this.#unsent.get(step.id) === step) this.#unsent.delete(step.id);
  }

  /** On the post-and-edit path the steps are lines above the first message's text. */
  withSteps(page: { serial: number }, markdown: string): string {
    if (page.serial !== 0 || this.#steps.size === 0) return markdown;
    const lines = [...this.#steps.values()].map((step) => stepLine(step, this.#untrusted)).join('\n');
    return markdown ? `${lines}\n\n${markdown}` : lines;
  }
}
