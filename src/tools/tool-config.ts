/**
 * The MCP servers an admin lets the bot use: a JSON or YAML file named by MCP_CONFIG. Secrets are
 * never in the file: `${NAME}` in a URL, header or environment value is read from the bot's
 * environment at start-up, and a missing one stops start-up naming the variable (never a value).
 *
 * @example
 * servers:
 *   - name: shop
 *     url: https://mcp.shop.example/mcp
 *     headers: { Authorization: "Bearer ${SHOP_MCP_TOKEN}" }
 *     tools: [order_status, open_ticket]   # enabled tools (default: all the server lists)
 *     approval: [open_ticket]              # these need a person's approval before each call
 *     # or, by tool: { open_ticket: asker, refund: approvers } (approvers: only `approvers` decide)
 *     channels: [C0123456789]              # where they may be used (default: everywhere)
 *   - name: files
 *     command: [node, ./mcp/files-server.js]   # a local server over stdio
 *     env: { FILES_ROOT: "${FILES_ROOT}" }     # all it gets besides the SDK's safe defaults
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const serverSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_-]{1,24}$/, 'must be 1 to 24 letters, digits, - or _'),
    url: z.string().optional(),
    command: z.array(z.string()).min(1).optional(),
    env: z.record(z.string(), z.string()).default({}),
    headers: z.record(z.string(), z.string()).default({}),
    tools: z.array(z.string()).optional(),
    /**
     * Tools whose calls need a person's approval, by name: `asker` (the asker or an approver may
     * approve) or `approvers` (only the configured approvers). A list means `asker` for each.
     */
    approval: z
      .union([z.array(z.string()), z.record(z.string(), z.enum(['asker', 'approvers']))])
      .default([])
      .transform((approval) =>
        Array.isArray(approval)
          ? Object.fromEntries(approval.map((tool) => [tool, 'asker' as const]))
          : approval,
      ),
    channels: z.array(z.string()).optional(),
  })
  .refine((server) => (server.url === undefined) !== (server.command === undefined), {
    message: 'needs either url (Streamable HTTP) or command (stdio), not both',
  });

const configSchema = z.object({
  servers: z.array(serverSchema).default([]),
  /** A tool call that takes longer fails as an error step (the answer goes on). */
  toolTimeoutMs: z.number().int().min(100).max(600_000).default(15_000),
  /** Most model ↔ tools rounds in one answer. */
  maxToolRounds: z.number().int().min(1).max(20).default(4),
  /** A tool result longer than this is cut before the model sees it. */
  maxResultChars: z.number().int().min(100).max(200_000).default(8_000),
  /** Who may approve a tool call besides the asker (Slack user ids). */
  approvers: z.array(z.string()).default([]),
  /** How long an approval request stays open. */
  approvalTtlSeconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 3600)
    .default(3600),
});

export type McpServerConfig = z.infer<typeof serverSchema>;
export type ToolConfig = z.infer<typeof configSchema>;

export const NO_TOOLS: ToolConfig = configSchema.parse({});

/** The config file's text as a ToolConfig; `env` resolves `${NAME}` references. Throws with every problem. */
export function parseToolConfig(text: string, env: NodeJS.ProcessEnv, source = 'MCP_CONFIG'): ToolConfig {
  let raw: unknown;
  try {
    raw = text.trimStart().startsWith('{') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new Error(`${source} is neither valid JSON nor YAML: ${(error as Error).message}`);
  }
  const parsed = configSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(file)'} ${issue.message}`,
    );
    throw new Error(`${source} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  const missing = new Set<string>();
  const resolve = (value: string) =>
    value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_match, name: string) => {
      const found = env[name];
      if (found === undefined) missing.add(name);
      return found ?? '';
    });
  const servers = parsed.data.servers.map((server) => ({
    ...server,
    ...(server.url ? { url: resolve(server.url) } : {}),
    headers: Object.fromEntries(Object.entries(server.headers).map(([k, v]) => [k, resolve(v)])),
    env: Object.fromEntries(Object.entries(server.env).map(([k, v]) => [k, resolve(v)])),
  }));
  if (missing.size > 0)
    throw new Error(`${source} refers to environment variables that are not set: ${[...missing].join(', ')}`);
  const strict = servers.filter((server) => Object.values(server.approval).includes('approvers'));
  if (strict.length > 0 && parsed.data.approvers.length === 0)
    throw new Error(
      `${source} gives tools of ${strict.map((s) => s.name).join(', ')} the approval mode "approvers", but lists no approvers`,
    );
  const names = servers.map((server) => server.name);
  const twice = names.filter((name, index) => names.indexOf(name) !== index);
  if (twice.length > 0) throw new Error(`${source} names a server twice: ${[...new Set(twice)].join(', ')}`);
  return { ...parsed.data, servers };
}

export function loadToolConfig(path: string, env: NodeJS.ProcessEnv): ToolConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(
      `MCP_CONFIG names a file that cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  return parseToolConfig(text, env);
}
