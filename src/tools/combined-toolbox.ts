/** Several toolboxes (built-in tools, MCP servers) offered as one; a call goes to the one that has the tool. */
import type { Toolbox, ToolCallOptions, ToolOutcome, ToolSpec } from '../conversation/ports.ts';

export class CombinedToolbox implements Toolbox {
  readonly #boxes: Toolbox[];

  constructor(boxes: Toolbox[]) {
    this.#boxes = boxes;
  }

  toolsFor(channelId: string): ToolSpec[] {
    return this.#boxes.flatMap((box) => box.toolsFor(channelId));
  }

  owns(name: string): boolean {
    return this.#boxes.some((box) => box.owns(name));
  }

  unavailable(channelId: string): string[] {
    return this.#boxes.flatMap((box) => box.unavailable(channelId));
  }

  call(name: string, input: unknown, options: ToolCallOptions): Promise<ToolOutcome> {
    const box = this.#boxes.find((b) => b.owns(name));
    if (!box)
      return Promise.resolve({ status: 'error', text: `There is no tool named ${name}.`, sources: [] });
    return box.call(name, input, options);
  }

  async close(): Promise<void> {
    await Promise.all(this.#boxes.map((box) => box.close()));
  }
}
