/** A built-in tool as a Toolbox, so that the combined toolbox treats it like an MCP server's tools. */
import type { BuiltInTool, Toolbox } from '../conversation/ports.ts';

export function builtInToolbox(tool: BuiltInTool): Toolbox {
  return {
    toolsFor: () => [tool.spec],
    owns: (name) => name === tool.spec.name,
    unavailable: () => [],
    call: (_name, input, options) => tool.run(input, options),
    close: async () => {
      await tool.close?.();
    },
  };
}
