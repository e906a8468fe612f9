/**
 * Maps AWS SDK errors from Bedrock (Runtime and Agent Runtime) to the answer vocabulary, once.
 * The SDK names errors after the service's `x-amzn-errortype` (PascalCase, also for exceptions
 * inside a stream); names are compared case-insensitively to be safe.
 */
import { AnswerError } from '../errors.ts';

export interface BedrockErrorContext {
  modelId: string;
  region: string;
  knowledgeBaseId?: string | null;
  /** True when the failing call was a Knowledge Base (Agent Runtime) call. */
  knowledgeBase?: boolean;
}

const INPUT_TOO_LONG =
  /too long|too many (input )?tokens|context (length|window)|input is too large|prompt is too long/i;
const SESSION_INVALID = /session with id .* is not valid|session .*(expired|not found|invalid)/i;

type AnswerCode = ConstructorParameters<typeof AnswerError>[0];
type Make = (code: AnswerCode, text: string, retryable?: boolean) => AnswerError;

const BUSY: [AnswerCode, string, boolean] = [
  'throttled',
  "I'm busy right now. Please try again shortly.",
  true,
];
const SLOW: [AnswerCode, string, boolean] = [
  'timeout',
  'The model took too long to answer. Please try again.',
  false,
];
const UNAVAILABLE: [AnswerCode, string, boolean] = [
  'model_unavailable',
  'The model service had a problem. Please try again.',
  true,
];

/** Errors whose meaning is in their name alone: code, what the person reads, and whether to retry. */
const BY_NAME: Record<string, [AnswerCode, string, boolean]> = {
  throttlingexception: BUSY,
  servicequotaexceededexception: BUSY,
  modelnotreadyexception: BUSY,
  toomanyrequestsexception: BUSY,
  modeltimeoutexception: SLOW,
  timeouterror: SLOW,
  requesttimeout: SLOW,
  modelstreamerrorexception: ['stream_interrupted', 'The answer was interrupted.', false],
  internalserverexception: UNAVAILABLE,
  serviceunavailableexception: UNAVAILABLE,
  badgatewayexception: UNAVAILABLE,
  dependencyfailedexception: UNAVAILABLE,
  modelerrorexception: UNAVAILABLE,
  aborterror: ['timeout', 'The answer was stopped before it finished.', false],
};

export function mapBedrockError(error: unknown, context: BedrockErrorContext): AnswerError {
  if (error instanceof AnswerError) return error;
  const name = String((error as { name?: unknown })?.name ?? '').toLowerCase();
  const message = String((error as { message?: unknown })?.message ?? '');
  const make: Make = (code, text, retryable = false) =>
    new AnswerError(code, text, { retryable, cause: error });
  // Before the name: the SDK calls a request whose connection closed under it a TimeoutError.
  if (connectionLost(error, message))
    return make('connection_lost', 'I lost the connection to the model service. Please try again.', true);
  if (name === 'accessdeniedexception' || name === 'resourcenotfoundexception')
    return notAllowedOrFound(name, context, make);
  if (name === 'validationexception') return invalidRequest(message, context, make);
  const known = Object.hasOwn(BY_NAME, name) ? BY_NAME[name] : undefined;
  if (known) return make(...known);
  if ((error as { code?: unknown })?.code === 'ETIMEDOUT' || /timed? ?out/i.test(message))
    return make(...SLOW);
  return make('unknown', 'Something went wrong while answering.');
}

/** Access denied or not found, for the model or for the Knowledge Base: what an admin must fix. */
function notAllowedOrFound(
  name: 'accessdeniedexception' | 'resourcenotfoundexception',
  context: BedrockErrorContext,
  make: Make,
): AnswerError {
  const kb = context.knowledgeBase === true;
  const kbId = context.knowledgeBaseId ?? '';
  if (name === 'accessdeniedexception')
    return kb
      ? make(
          'kb_access_denied',
          `I'm not allowed to use the knowledge base ${kbId} in ${context.region}. An admin needs to grant access.`,
        )
      : make(
          'model_access_denied',
          `Model access is not enabled for ${context.modelId} in ${context.region}. An admin can enable it in the Amazon Bedrock console (Model access).`,
        );
  return kb
    ? make('kb_not_found', `The knowledge base ${kbId} was not found in ${context.region}.`)
    : make(
        'model_not_found',
        `The model id ${context.modelId} is not known in ${context.region}. Check BEDROCK_MODEL_ID.`,
      );
}

/** A ValidationException: an expired session, a request too long, a bad model id, or otherwise invalid. */
function invalidRequest(message: string, context: BedrockErrorContext, make: Make): AnswerError {
  if (SESSION_INVALID.test(message)) return make('kb_session_invalid', 'The knowledge base session expired.');
  if (INPUT_TOO_LONG.test(message))
    return make('input_too_long', 'This conversation is too long for the model. Start a new thread.');
  if (/model identifier is invalid|model id|invalid model/i.test(message))
    return make('model_not_found', `The model id ${context.modelId} is not valid. Check BEDROCK_MODEL_ID.`);
  return make('invalid_request', 'The model refused the request as invalid.');
}

/** Socket and HTTP/2 errors of a connection that closed or broke, as opposed to a slow model. */
const CONNECTION_ERROR_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ERR_HTTP2_STREAM_CANCEL',
  'ERR_HTTP2_STREAM_ERROR',
  'ERR_HTTP2_SESSION_ERROR',
  'ERR_HTTP2_GOAWAY_SESSION',
  'ERR_HTTP2_INVALID_SESSION',
]);
const CONNECTION_LOST = /did not get a response|abnormally aborted|socket hang up/i;

function connectionLost(error: unknown, message: string): boolean {
  const code = (error as { code?: unknown })?.code;
  return (typeof code === 'string' && CONNECTION_ERROR_CODES.has(code)) || CONNECTION_LOST.test(message);
}
