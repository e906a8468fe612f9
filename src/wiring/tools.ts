/**
 * The tools the model may use: the built-in ones named by BUILTIN_TOOLS and the MCP servers named
 * by MCP_CONFIG, offered as one toolbox; null when neither is configured.
 */
import { createKnowledgeBaseSearchTool } from '../bedrock/kb-search-tool.ts';
import type { Config } from '../config.ts';
import type { Toolbox } from '../conversation/ports.ts';
import type { Logger } from '../logger.ts';
import type { SlackApi } from '../slack/slack-api.ts';
import { SlackSearchTool } from '../slack/slack-search-tool.ts';
import { builtInToolbox } from '../tools/built-in-tool.ts';
import { CombinedToolbox } from '../tools/combined-toolbox.ts';
import type { PersonalToolInputs, PersonalTools } from './personal-tools.ts';

/** The toolbox and the limits the conversation service applies to it. */
export interface ToolParts {
  toolbox: Toolbox;
  timeoutMs: number;
  maxRounds: number;
  /** Who may approve a tool call besides the asker. */
  approvers: string[];
  /** How long an approval request stays open. */
  approvalTtlMs: number;
  /** People's own accounts, when a server has `auth: user`. */
  personal: PersonalTools | null;
}

/**
 * The MCP servers named by MCP_CONFIG, connected (a server that is down is retried in the
 * background, so start-up waits at most a few seconds for them); null without tools.
 */
export async function buildTools(
  config: Config,
  logger: Logger,
  slack: SlackApi,
  personalInputs?: PersonalToolInputs,
  /** Built-in toolboxes made elsewhere (channel knowledge's search). */
  extra: Toolbox[] = [],
): Promise<ToolParts | null> {
  if (!config.mcpConfigPath && config.builtinTools.length === 0 && extra.length === 0) return null;
  // Loaded only when tools are configured: the MCP SDK and the YAML parser hold about 30 MB of a
  // replica's memory that a bot without tools never needs.
  const { loadToolConfig, NO_TOOLS } = await import('../tools/tool-config.ts');
  const toolConfig = config.mcpConfigPath ? loadToolConfig(config.mcpConfigPath, process.env) : NO_TOOLS;
  const boxes: Toolbox[] = [...extra];
  if (config.builtinTools.includes('search_slack')) boxes.push(builtInToolbox(new SlackSearchTool(slack)));
  if (config.builtinTools.includes('search_knowledge_base'))
    boxes.push(builtInToolbox(await createKnowledgeBaseSearchTool(config)));
  const personalServers = toolConfig.servers.filter((server) => server.auth === 'user');
  // Loaded only when a tool server has `auth: user` (it brings the MCP SDK's auth client).
  const personal =
    personalServers.length > 0 && personalInputs
      ? (await import('./personal-tools.ts')).createPersonalTools({
          ...personalInputs,
          config,
          servers: personalServers,
          slack,
          logger,
        })
      : null;
  if (toolConfig.servers.length > 0) {
    const { McpToolbox } = await import('../tools/mcp-toolbox.ts');
    const mcp = new McpToolbox({
      config: toolConfig,
      logger,
      ...(personal ? { personal: personal.access } : {}),
    });
    await Promise.race([mcp.start(), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    boxes.push(mcp);
  }
  return {
    toolbox: new CombinedToolbox(boxes),
    timeoutMs: toolConfig.toolTimeoutMs,
    maxRounds: toolConfig.maxToolRounds,
    approvers: toolConfig.approvers,
    approvalTtlMs: toolConfig.approvalTtlSeconds * 1000,
    personal,
  };
}
