/**
 * The MCP toolbox with the SDK's real client against the SDK's real server (the MCP stand-in):
 * tools listed and offered as Converse specs, calls with the model's arguments, timeouts, aborts,
 * a server that is down at start and comes back, and a changed tool list.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { McpToolbox } from '../../src/tools/mcp-toolbox.ts';
import { parseToolConfig } from '../../src/tools/tool-config.ts';
import { FakeMcpServer } from '../stand-ins/fake-mcp-server.ts';
import { capturedLogger } from '../support/captured-logger.ts';
import { freePort } from '../support/free-port.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function toolboxFor(yaml: string, env: Record<string, string> = {}) {
  const toolbox = new McpToolbox({
    config: parseToolConfig(yaml, env),
    logger: capturedLogger().logger,
    reconnectDelayMs: 100,
  });
  cleanups.push(() => toolbox.close());
  await toolbox.start();
  return toolbox;
}

async function mcpServer(options: { port?: number; lookupDelayMs?: number } = {}) {
  const mcp = await FakeMcpServer.start(options);
  cleanups.push(() => mcp.stop());
  return mcp;
}

const signal = () => new AbortController().signal;

async function eventually(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the MCP toolbox', () => {
  it('offers the enabled tools as Converse tools, marks those that need approval, and calls them', async () => {
    const mcp = await mcpServer();
    const toolbox = await toolboxFor(
      `servers:\n  - name: shop\n    url: ${mcp.url}\n    tools: [order_status, open_ticket]\n    approval: [open_ticket]\n`,
    );

    const tools = toolbox.toolsFor('C0001');
    const outcome = await toolbox.call(
      'shop__order_status',
      { order_id: '1234' },
      { signal: signal(), timeoutMs: 5_000 },
    );

    expect(tools.map((tool) => [tool.name, tool.needsApproval])).toEqual([
      ['shop__order_status', false],
      ['shop__open_ticket', true],
    ]);
    expect(tools[0]?.inputSchema).toMatchObject({
      type: 'object',
      properties: { order_id: { type: 'string' } },
    });
    expect(mcp.calls).toEqual([
      expect.objectContaining({ tool: 'order_status', arguments: { order_id: '1234' } }),
    ]);
    expect(outcome).toEqual({
      status: 'success',
      text: expect.stringContaining('Order 1234: shipped'),
      sources: [{ url: 'https://shop.example/orders/1234', title: 'Order 1234' }],
    });
  });

  it('offers a server’s tools only in its channels', async () => {
    const mcp = await mcpServer();
    const toolbox = await toolboxFor(
      `servers:\n  - name: shop\n    url: ${mcp.url}\n    channels: [C0009]\n`,
    );

    expect(toolbox.toolsFor('C0001')).toEqual([]);
    expect(toolbox.toolsFor('C0009').length).toBeGreaterThan(0);
  });

  it('turns a call that takes too long into an error outcome, and the server sees it aborted', async () => {
    const mcp = await mcpServer();
    const toolbox = await toolboxFor(`servers:\n  - name: shop\n    url: ${mcp.url}\n`);

    const outcome = await toolbox.call(
      'shop__slow_report',
      { topic: 'x' },
      { signal: signal(), timeoutMs: 300 },
    );

    expect(outcome.status).toBe('error');
    expect(outcome.text).toMatch(/took longer than 300 ms/);
    await eventually(() => mcp.calls[0]?.outcome === 'aborted');
  });

  it('cancels a call in flight when the answer is stopped', async () => {
    const mcp = await mcpServer();
    const toolbox = await toolboxFor(`servers:\n  - name: shop\n    url: ${mcp.url}\n`);
    const stop = new AbortController();

    const call = toolbox.call(
      'shop__slow_report',
      { topic: 'x' },
      { signal: stop.signal, timeoutMs: 30_000 },
    );
    await eventually(() => mcp.calls.length === 1);
    stop.abort();

    expect((await call).text).toMatch(/cancelled/);
    await eventually(() => mcp.calls[0]?.outcome === 'aborted');
  });

  it('leaves out a server that is down at start, and uses it once it is back', async () => {
    const port = await freePort();
    const toolbox = await toolboxFor(`servers:\n  - name: shop\n    url: http://127.0.0.1:${port}/mcp\n`);
    expect(toolbox.unavailable('C0001')).toEqual(['shop']);
    expect(toolbox.toolsFor('C0001')).toEqual([]);

    await mcpServer({ port });
    await eventually(() => toolbox.unavailable('C0001').length === 0);

    expect(toolbox.toolsFor('C0001').map((tool) => tool.name)).toContain('shop__order_status');
  });

  it('sees the tools a server adds, when it says its list changed', async () => {
    const mcp = await mcpServer();
    const toolbox = await toolboxFor(`servers:\n  - name: shop\n    url: ${mcp.url}\n`);

    mcp.addTool('refund_policy', 'Reads the refund policy.', 'Refunds within 30 days.');
    await eventually(() => toolbox.toolsFor('C0001').some((tool) => tool.name === 'shop__refund_policy'));

    expect((await toolbox.call('shop__refund_policy', {}, { signal: signal(), timeoutMs: 5_000 })).text).toBe(
      'Refunds within 30 days.',
    );
  });
});

describe('MCP_CONFIG', () => {
  it('reads secrets from the environment by reference, and names a missing one without any value', () => {
    // The reference is the config file's own syntax, not a template literal of ours.
    const reference = ['$', '{SHOP_TOKEN}'].join('');
    const yaml = `servers:\n  - name: shop\n    url: https://mcp.example/mcp\n    headers: { Authorization: "Bearer ${reference}" }\n`;

    expect(parseToolConfig(yaml, { SHOP_TOKEN: 's3cret' }).servers[0]?.headers).toEqual({
      Authorization: 'Bearer s3cret',
    });
    expect(() => parseToolConfig(yaml, {})).toThrow('not set: SHOP_TOKEN');
  });

  it('takes approval modes by tool, and refuses the approvers mode without approvers', () => {
    const yaml =
      'servers:\n  - name: shop\n    url: https://mcp.example/mcp\n    approval: { refund: approvers, open_ticket: asker }\n';

    expect(parseToolConfig(`${yaml}approvers: [U0002]\n`, {}).servers[0]?.approval).toEqual({
      refund: 'approvers',
      open_ticket: 'asker',
    });
    expect(parseToolConfig(yaml.replace(/\{.*\}/, '[open_ticket]'), {}).servers[0]?.approval).toEqual({
      open_ticket: 'asker',
    });
    expect(() => parseToolConfig(yaml, {})).toThrow(/approval mode "approvers", but lists no approvers/);
  });

  it('takes JSON too, and refuses a server with neither url nor command', () => {
    expect(
      parseToolConfig('{"servers": [{"name": "a", "command": ["node", "s.js"]}]}', {}).servers[0]?.command,
    ).toEqual(['node', 's.js']);
    expect(() => parseToolConfig('servers:\n  - name: a\n', {})).toThrow(/either url .* or command/);
  });
});
