/**
 * Child process: the Bedrock Runtime stand-in, apart from the bot and from the Slack stand-in so
 * that generating thousands of stream frames a second does not steal the event loop of either.
 * Every answer follows the spec in the question (see answers.ts). IPC: sends `{type:'ready', url}`;
 * answers `{type:'requests'}` with the recorded timings and `{type:'reset'}` by clearing them.
 */
import { FakeBedrockRuntime, type RecordedModelRequest } from '../test/stand-ins/fake-bedrock-runtime.ts';
import { answerChunks, parseQuestion } from './answers.ts';

export interface ModelRequestTiming {
  id: string | null;
  atMs: number;
  firstTokenAtMs: number | null;
  lastTokenAtMs: number | null;
  endedAtMs: number | null;
  outcome: string | null;
  error: string | null;
}

const fake = await FakeBedrockRuntime.start();
const ids = new WeakMap<RecordedModelRequest, string>();

fake.setHandler((request) => {
  const lastUser = (request.body.messages ?? []).filter((message) => message.role === 'user').at(-1);
  const text = (lastUser?.content ?? []).map((block) => block.text ?? '').join('\n');
  const spec = parseQuestion(text);
  if (!spec) return { text: 'I did not understand the question.' };
  ids.set(request, spec.id);
  return {
    text: answerChunks(spec),
    firstTokenDelayMs: spec.firstTokenDelayMs,
    tokensPerSecond: spec.chunksPerSecond,
  };
});

process.on('message', (message: { type?: string; seq?: number }) => {
  if (message.type === 'requests') {
    const timings: ModelRequestTiming[] = fake.requests.map((request) => ({
      id: ids.get(request) ?? null,
      atMs: request.atMs,
      firstTokenAtMs: request.firstTokenAtMs ?? null,
      lastTokenAtMs: request.lastTokenAtMs ?? null,
      endedAtMs: request.endedAtMs ?? null,
      outcome: request.outcome ?? null,
      error: request.error ?? null,
    }));
    process.send?.({ type: 'requests', seq: message.seq, timings });
  } else if (message.type === 'reset') {
    fake.requests.length = 0; // reset() would also drop the handler
    process.send?.({ type: 'reset', seq: message.seq });
  } else if (message.type === 'shutdown') {
    void fake.stop().finally(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));

process.send?.({ type: 'ready', url: fake.url });
