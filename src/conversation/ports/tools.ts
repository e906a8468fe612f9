/**
 * The tools port: what the model may call (MCP servers, built-in tools), and how a call shows as a
 * step. See ../ports.ts for the map of the ports.
 */

/** Who may answer an approval request: the asker or an approver, or only the configured approvers. */
export type ApprovalMode = 'asker' | 'approvers';

/** A tool the model may call, as Converse describes it to the model. */
export interface ToolSpec {
  /** Unique among the tools offered, `[a-zA-Z0-9_-]{1,64}` (Converse's rule). */
  name: string;
  /** A short human title for the step shown in Slack. */
  title: string;
  description: string;
  /** JSON Schema of the tool's input. */
  inputSchema: Record<string, unknown>;
  /** The tool has side effects: a person must approve each call. */
  needsApproval: boolean;
  /** Who may approve its calls (default `asker`: the asker or an approver). */
  approvedBy?: ApprovalMode;
}

/** A link a tool's result pointed to: shown on its step and in the answer's Sources. */
export interface ToolSource {
  url: string;
  title: string;
}

export interface ToolOutcome {
  status: 'success' | 'error';
  /** What the model is told (bounded in size); for an error, what went wrong. */
  text: string;
  sources: ToolSource[];
}

export interface Toolbox {
  /** The tools the model may use in `channelId` now; a server that is down offers none. */
  toolsFor(channelId: string): ToolSpec[];
  /** Whether a tool of this name is this toolbox's (whatever the channel). */
  owns(name: string): boolean;
  /** Configured tool servers for `channelId` that cannot be reached now, by name. */
  unavailable(channelId: string): string[];
  /** Runs one tool; never throws: failures, timeouts and aborts come back as an error outcome. */
  call(name: string, input: unknown, options: ToolCallOptions): Promise<ToolOutcome>;
  /** Closes connections; the toolbox is unusable afterwards. */
  close(): Promise<void>;
}

/** One tool of our own (no server behind it): offered in every channel, never unavailable. */
export interface BuiltInTool {
  readonly spec: ToolSpec;
  /** Runs the tool; never throws: a failure comes back as an error outcome. */
  run(input: unknown, options: ToolCallOptions): Promise<ToolOutcome>;
  close?(): Promise<void>;
}

/** The person a tool call is made for. */
export interface Asker {
  userId: string;
  actionToken?: string;
  teamId?: string;
  channelId?: string;
  threadTs?: string;
}

export interface ToolCallOptions {
  signal: AbortSignal;
  timeoutMs: number;
  /**
   * Who asks, and Slack's `action_token` of the asking event (search as that person may see);
   * where they asked (a personal tool server's private Connect step goes there; a tool that
   * searches only that channel's or DM's own knowledge).
   */
  asker?: Asker;
}

/** One step of an answer that used a tool, as the surface shows it. */
export interface ToolStep {
  id: string;
  title: string;
  status: 'pending' | 'in_progress' | 'complete' | 'error';
  details?: string;
  sources?: ToolSource[];
}
