/**
 * Lists the longest functions in src/ and fails when one is over MAX_LINES, unless it is named
 * below: a declarative table (metrics, the configuration schema, Block Kit views), or, for now, a
 * function still waiting for its split. An exception that no longer applies (the function is gone,
 * or back under the line) fails too, so the list stays honest.
 *
 *   npm run check:functions              (the longest 15, then the verdict; .ci/run runs it)
 *   npm run check:functions -- --top 40
 *
 * A function's lines run from its first line to its closing brace, comments and blank lines
 * included; a nested function counts in its own right and inside the one around it. TypeScript 7
 * (the native compiler) has no JavaScript API, so the source is read with Babel's parser.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from '@babel/parser';

const MAX_LINES = 60;

/** Tables written as code: one long literal reads better whole than cut into pieces. */
const DECLARATIVE: Record<string, string> = {
  'src/metrics.ts#createMetrics': 'the metrics: one definition per metric',
  'src/config.ts#toConfig': 'the configuration schema: one field per variable',
  'src/slack/settings-views.ts#settingsModal': 'a Block Kit view: the settings modal, block by block',
};

/**
 * TEMPORARY: functions over the line today that other work (issue 21's splits of the conversation
 * service and the bot's wiring) is taking apart. Remove each entry as its split lands; this
 * section should end up empty.
 */
// TEMPORARY ("not yet split"): empty this as the splits land; a stale entry fails the check.
const NOT_YET_SPLIT: Record<string, string> = {
  'src/slack/render/link-hosts.ts#parseLinkTail': 'a hand-written scanner of a Markdown link target',
  'src/bedrock/converse-request.ts#buildConverseRequest': 'the Converse request, part by part',
  'src/bedrock/knowledge-base-model.ts#RetrieveThenConverseModel.stream': 'retrieve, then Converse',
};

export interface FunctionLength {
  /** `src/file.ts#Name`, the key the exceptions use. */
  key: string;
  line: number;
  lines: number;
}

interface AstNode {
  type: string;
  loc?: { start: { line: number }; end: { line: number } };
  [field: string]: unknown;
}

const FUNCTION_TYPES = new Set([
  'FunctionDeclaration',
  'FunctionExpression',
  'ArrowFunctionExpression',
  'ClassMethod',
  'ClassPrivateMethod',
  'ObjectMethod',
]);

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

function isNode(value: unknown): value is AstNode {
  return typeof value === 'object' && value !== null && typeof (value as AstNode).type === 'string';
}

/** A key's source text: an identifier, a private name, a string or a computed expression. */
function keyName(key: unknown): string {
  if (!isNode(key)) return '?';
  if (key.type === 'Identifier') return String(key.name);
  if (key.type === 'PrivateName') return `#${keyName(key.id)}`;
  if (key.type === 'StringLiteral' || key.type === 'NumericLiteral') return String(key.value);
  if (key.type === 'MemberExpression') return `${keyName(key.object)}.${keyName(key.property)}`;
  if (key.type === 'ThisExpression') return 'this';
  return `[${key.type}]`;
}

/** What a function is called where it stands: its own name, what holds it, or the call it is passed to. */
function functionName(node: AstNode, parent: AstNode | null, className: string | null): string {
  const own = node.type.startsWith('Class') ? keyName(node.key) : null;
  if (own) return className ? `${className}.${own}` : own;
  if (node.type === 'ObjectMethod') return keyName(node.key);
  if (isNode(node.id)) return keyName(node.id);
  if (!parent) return '(anonymous)';
  if (parent.type === 'VariableDeclarator') return keyName(parent.id);
  if (parent.type === 'ObjectProperty' || parent.type.startsWith('ClassProperty')) {
    const name = keyName(parent.key);
    return className && parent.type.startsWith('Class') ? `${className}.${name}` : name;
  }
  if (parent.type === 'AssignmentExpression') return keyName(parent.left);
  if (parent.type === 'CallExpression' || parent.type === 'NewExpression')
    return `${keyName(parent.callee)}(…) callback`;
  return '(anonymous)';
}

/** Every function in one file, named after the functions around it (`outer > inner`). */
export function functionsOf(file: string): FunctionLength[] {
  const ast = parse(readFileSync(file, 'utf8'), {
    sourceType: 'module',
    plugins: ['typescript', 'decorators-legacy'],
  }) as unknown as AstNode;
  const path = relative(root, file).split(sep).join('/');
  const found: FunctionLength[] = [];
  const visit = (node: AstNode, parent: AstNode | null, scope: string[], className: string | null) => {
    let inner = scope;
    let innerClass = className;
    if (node.type === 'ClassDeclaration' || node.type === 'ClassExpression')
      innerClass = isNode(node.id) ? keyName(node.id) : '(class)';
    if (FUNCTION_TYPES.has(node.type) && node.loc) {
      inner = [...scope, functionName(node, parent, className)];
      const lines = node.loc.end.line - node.loc.start.line + 1;
      found.push({ key: `${path}#${inner.join(' > ')}`, line: node.loc.start.line, lines });
    }
    for (const [field, value] of Object.entries(node)) {
      if (field === 'loc' || field === 'leadingComments' || field === 'trailingComments') continue;
      const children = Array.isArray(value) ? value : [value];
      for (const child of children) if (isNode(child)) visit(child, node, inner, innerClass);
    }
  };
  visit(ast, null, [], null);
  return found;
}

function parseTop(argv: string[]): number {
  const index = argv.indexOf('--top');
  const value = index >= 0 ? Number(argv[index + 1]) : 15;
  return Number.isInteger(value) && value > 0 ? value : 15;
}

function main(): number {
  const all = sourceFiles(join(root, 'src')).flatMap(functionsOf);
  all.sort((a, b) => b.lines - a.lines || a.key.localeCompare(b.key));
  const top = parseTop(process.argv.slice(2));
  process.stdout.write(`The ${top} longest functions in src/ (the line is ${MAX_LINES}):\n`);
  for (const fn of all.slice(0, top)) {
    const mark =
      fn.lines <= MAX_LINES ? ' ' : fn.key in DECLARATIVE ? 'D' : fn.key in NOT_YET_SPLIT ? 'T' : '!';
    process.stdout.write(`${mark} ${String(fn.lines).padStart(4)}  ${fn.key}  (line ${fn.line})\n`);
  }
  const over = all.filter((fn) => fn.lines > MAX_LINES);
  const failures = over
    .filter((fn) => !(fn.key in DECLARATIVE) && !(fn.key in NOT_YET_SPLIT))
    .map(
      (fn) =>
        `${fn.key} is ${fn.lines} lines (line ${fn.line}): split it, or name it in scripts/long-functions.ts`,
    );
  const overKeys = new Set(over.map((fn) => fn.key));
  for (const key of [...Object.keys(DECLARATIVE), ...Object.keys(NOT_YET_SPLIT)]) {
    if (!overKeys.has(key))
      failures.push(
        `${key} is named as an exception but is no longer over the line: remove it from the list`,
      );
  }
  process.stdout.write(
    `\n${over.length} over the line: ${over.filter((fn) => fn.key in DECLARATIVE).length} declarative, ` +
      `${over.filter((fn) => fn.key in NOT_YET_SPLIT).length} not yet split.\n`,
  );
  for (const failure of failures) process.stderr.write(`long-functions: ${failure}\n`);
  return failures.length > 0 ? 1 : 0;
}

// Run as a script; imported (by its test), only `functionsOf` is used.
if (import.meta.main) process.exitCode = main();
