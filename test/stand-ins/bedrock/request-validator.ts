/**
 * Checks a request against an AWS service model (botocore's `service-2.json`, kept unchanged in
 * `aws-models/`, see its README for source and date), the way the service's front end does before
 * any model sees it: the operation is found from the HTTP method and path (`http.requestUri`), the
 * input is gathered from the path, headers, query and JSON body by each member's `location`, and
 * every value is walked generically through its shape: required and unknown members, types, enums,
 * lengths (characters, bytes for blobs, entries for lists and maps), patterns, ranges and unions.
 * Nothing here is written per field: a new operation (InvokeModel, AgenticRetrieveStream, …) is
 * checked from the model as it is.
 *
 * @example
 * const model = serviceModel('bedrock-runtime');
 * const checked = validateHttpRequest(model, { method: 'POST', path: '/model/x/converse', headers, query, body, rawBody });
 * checked.errors; // [] or ["Value '' at 'messages.1.member.content.1.member.text' failed to satisfy constraint: …"]
 * validationMessage(checked.errors); // "1 validation error detected: …", Bedrock's wording
 */
import { readFileSync } from 'node:fs';

type ShapeRef = {
  shape: string;
  location?: 'uri' | 'header' | 'querystring' | 'headers';
  locationName?: string;
};

interface Shape {
  type:
    | 'structure'
    | 'list'
    | 'map'
    | 'string'
    | 'integer'
    | 'long'
    | 'float'
    | 'double'
    | 'boolean'
    | 'blob'
    | 'timestamp';
  members?: Record<string, ShapeRef>;
  required?: string[];
  union?: boolean;
  document?: boolean;
  payload?: string;
  member?: ShapeRef;
  key?: ShapeRef;
  value?: ShapeRef;
  min?: number;
  max?: number;
  pattern?: string;
  enum?: string[];
}

interface Operation {
  name: string;
  http: { method: string; requestUri: string };
  input?: { shape: string };
}

export interface ServiceModel {
  metadata: { serviceId: string; apiVersion: string };
  operations: Record<string, Operation>;
  shapes: Record<string, Shape>;
}

/** The model versions the stand-ins follow (the directories in aws-models/). */
const MODEL_FILES = {
  'bedrock-runtime': 'bedrock-runtime/2023-09-30/service-2.json',
  'bedrock-agent-runtime': 'bedrock-agent-runtime/2023-07-26/service-2.json',
} as const;

const loaded = new Map<string, ServiceModel>();

/** The botocore model of a service, read once per process. */
export function serviceModel(service: keyof typeof MODEL_FILES): ServiceModel {
  let model = loaded.get(service);
  if (!model) {
    const url = new URL(`./aws-models/${MODEL_FILES[service]}`, import.meta.url);
    model = JSON.parse(readFileSync(url, 'utf8')) as ServiceModel;
    loaded.set(service, model);
  }
  return model;
}

export interface HttpRequest {
  method: string;
  /** Without the query string; labels still percent-encoded. */
  path: string;
  query: URLSearchParams;
  /** Lower-case names. */
  headers: Record<string, string>;
  /** The parsed JSON body (undefined when empty). */
  body: unknown;
  rawBody: string;
}

export interface CheckedRequest {
  /** The operation the path names, or null when none does. */
  operation: string | null;
  /** The operation's input as the SDK's command took it (labels decoded, headers and body merged). */
  input: Record<string, unknown>;
  /** Each broken constraint in Bedrock's wording, empty when the request is valid. */
  errors: string[];
}

/** Finds the operation for a request, gathers its input and validates it against the model. */
export function validateHttpRequest(model: ServiceModel, request: HttpRequest): CheckedRequest {
  for (const operation of Object.values(model.operations)) {
    if (operation.http.method !== request.method) continue;
    const labels = matchUri(operation.http.requestUri, request.path);
    if (!labels) continue;
    const input = operation.input ? inputOf(model, operation.input.shape, request, labels) : {};
    const errors = operation.input ? validateValue(model, operation.input.shape, input) : [];
    return { operation: operation.name, input, errors };
  }
  return { operation: null, input: {}, errors: [] };
}

/** Validates a value against a named shape; each error in the service's wording. */
export function validateValue(model: ServiceModel, shapeName: string, value: unknown): string[] {
  const errors: string[] = [];
  walk(model, shapeName, value, '', errors);
  return errors;
}

/** The ValidationException message for a list of errors (as Bedrock joins them). */
export function validationMessage(errors: string[]): string {
  const count = `${errors.length} validation error${errors.length === 1 ? '' : 's'} detected`;
  return `${count}: ${errors.join('; ')}`;
}

/** Path labels of `template` (`/model/{modelId}/converse`, `{key+}` greedy) in `path`, or null. */
function matchUri(template: string, path: string): Record<string, string> | null {
  const [templatePath] = template.split('?');
  const names: string[] = [];
  const source = (templatePath ?? '').replace(/[.*+?^$()|[\]\\]|\{(\w+)(\+)?\}/g, (part, name, greedy) => {
    if (!name) return `\\${part}`;
    names.push(name);
    return greedy ? '(.+)' : '([^/]+)';
  });
  const match = new RegExp(`^${source}$`).exec(path);
  if (!match) return null;
  return Object.fromEntries(names.map((name, index) => [name, decodeURIComponent(match[index + 1] ?? '')]));
}

/** The input structure from where each member travels (uri, header, querystring, payload, body). */
function inputOf(
  model: ServiceModel,
  shapeName: string,
  request: HttpRequest,
  labels: Record<string, string>,
): Record<string, unknown> {
  const shape = model.shapes[shapeName];
  const input: Record<string, unknown> = {};
  const body = isObject(request.body) ? request.body : {};
  const inBody = new Set(Object.keys(body));
  for (const [name, ref] of Object.entries(shape?.members ?? {})) {
    const wireName = ref.locationName ?? name;
    if (ref.location === 'uri') {
      if (labels[wireName] !== undefined) input[name] = labels[wireName];
    } else if (ref.location === 'header') {
      const header = request.headers[wireName.toLowerCase()];
      if (header !== undefined) input[name] = headerValue(model, ref.shape, header);
    } else if (ref.location === 'querystring') {
      const values = request.query.getAll(wireName);
      if (values.length > 0) input[name] = model.shapes[ref.shape]?.type === 'list' ? values : values[0];
    } else if (shape?.payload === name) {
      // The payload member is the whole body: raw bytes for a blob (InvokeModel), else the JSON.
      const payloadType = model.shapes[ref.shape]?.type;
      if (payloadType === 'blob') input[name] = Buffer.from(request.rawBody, 'utf8').toString('base64');
      else if (request.body !== undefined) input[name] = request.body;
      inBody.clear();
    } else if (name in body) {
      input[name] = body[name];
      inBody.delete(name);
    }
  }
  // Body members the input shape does not name are reported as unknown by the walk.
  for (const name of inBody) input[name] = body[name];
  return input;
}

function headerValue(model: ServiceModel, shapeName: string, header: string): unknown {
  const type = model.shapes[shapeName]?.type;
  if (type === 'integer' || type === 'long' || type === 'float' || type === 'double') return Number(header);
  if (type === 'boolean') return header === 'true';
  return header;
}

/** Characters as the models count them (code points, not UTF-16 units). */
function charLength(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

const patterns = new Map<string, RegExp>();

function regexOf(pattern: string): RegExp {
  let regex = patterns.get(pattern);
  if (!regex) {
    // The service matches the whole value (a tool name `a.b` is refused for `[a-zA-Z0-9_-]+`), so the
    // pattern is anchored; some patterns use identity escapes the `u` flag refuses.
    const anchored = `^(?:${pattern})$`;
    try {
      regex = new RegExp(anchored, 'u');
    } catch {
      regex = new RegExp(anchored);
    }
    patterns.set(pattern, regex);
  }
  return regex;
}

function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}

function walk(model: ServiceModel, shapeName: string, value: unknown, path: string, errors: string[]): void {
  const shape = model.shapes[shapeName];
  if (!shape || value === null || value === undefined) return;
  const at = path === '' ? '' : ` at '${path}'`;
  const fail = (constraint: string, withValue = true): void => {
    errors.push(
      `${withValue ? `Value '${shown(value)}'` : 'Value'}${at} failed to satisfy constraint: ${constraint}`,
    );
  };
  // A document is free-form JSON (tool inputs, schemas, additionalModelRequestFields).
  if (shape.document) return;
  switch (shape.type) {
    case 'structure': {
      if (!isObject(value)) {
        fail('Member must be a structure');
        return;
      }
      const members = shape.members ?? {};
      const present = Object.keys(value).filter((name) => value[name] !== null && value[name] !== undefined);
      for (const name of present)
        if (!(name in members)) errors.push(`Unknown member '${name}'${at}: not in shape ${shapeName}`);
      if (shape.union) {
        const set = present.filter((name) => name in members);
        if (set.length !== 1)
          fail(
            `Member must have exactly one of ${Object.keys(members).join(', ')} set (${set.length} are)`,
            false,
          );
      }
      for (const name of shape.required ?? [])
        if (value[name] === undefined || value[name] === null)
          errors.push(
            `Value null at '${path === '' ? name : `${path}.${name}`}' failed to satisfy constraint: Member must not be null`,
          );
      for (const [name, ref] of Object.entries(members))
        if (name in value)
          walk(model, ref.shape, value[name], path === '' ? name : `${path}.${name}`, errors);
      return;
    }
    case 'list': {
      if (!Array.isArray(value)) {
        fail('Member must be a list');
        return;
      }
      checkLength(shape, value.length, fail);
      for (const [index, item] of value.entries())
        if (shape.member) walk(model, shape.member.shape, item, `${path}.${index + 1}.member`, errors);
      return;
    }
    case 'map': {
      if (!isObject(value)) {
        fail('Member must be a map');
        return;
      }
      const entries = Object.entries(value);
      checkLength(shape, entries.length, fail);
      for (const [key, item] of entries) {
        if (shape.key) walk(model, shape.key.shape, key, `${path}.${key}.key`, errors);
        if (shape.value) walk(model, shape.value.shape, item, `${path}.${key}.value`, errors);
      }
      return;
    }
    case 'string': {
      if (typeof value !== 'string') {
        fail('Member must be a string');
        return;
      }
      if (shape.enum && !shape.enum.includes(value)) {
        fail(`Member must satisfy enum value set: [${shape.enum.join(', ')}]`);
        return;
      }
      checkLength(shape, charLength(value), fail);
      if (shape.pattern !== undefined && !regexOf(shape.pattern).test(value))
        fail(`Member must satisfy regular expression pattern: ${shape.pattern}`);
      return;
    }
    case 'blob': {
      // REST-JSON carries blobs as base64 text; the limits are on the decoded bytes.
      if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
        fail('Member must be base64-encoded binary data', false);
        return;
      }
      checkLength(shape, Buffer.byteLength(value, 'base64'), fail, false);
      return;
    }
    case 'integer':
    case 'long':
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        fail('Member must be an integer');
        return;
      }
      checkRange(shape, value, fail);
      return;
    case 'float':
    case 'double':
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        fail('Member must be a number');
        return;
      }
      checkRange(shape, value, fail);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') fail('Member must be a boolean');
      return;
    case 'timestamp':
      if (typeof value !== 'number' && typeof value !== 'string') fail('Member must be a timestamp');
      return;
  }
}

function checkLength(
  shape: Shape,
  length: number,
  fail: (constraint: string, withValue?: boolean) => void,
  withValue = true,
): void {
  if (shape.min !== undefined && length < shape.min)
    fail(`Member must have length greater than or equal to ${shape.min}`, withValue);
  if (shape.max !== undefined && length > shape.max)
    fail(`Member must have length less than or equal to ${shape.max}`, withValue);
}

function checkRange(shape: Shape, value: number, fail: (constraint: string) => void): void {
  if (shape.min !== undefined && value < shape.min)
    fail(`Member must have value greater than or equal to ${shape.min}`);
  if (shape.max !== undefined && value > shape.max)
    fail(`Member must have value less than or equal to ${shape.max}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
