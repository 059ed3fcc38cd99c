import { HttpStatus } from '@nestjs/common';
import { json, type NextFunction, type Request, type Response } from 'express';

const BODY_LIMIT = '100kb';

/**
 * How deeply untrusted JSON may nest. No request this API takes goes past four levels; code
 * downstream (class-transformer, graphql-js) recurses and overflows the stack at a few thousand.
 */
export const MAX_JSON_DEPTH = 32;

interface BodyParserError extends Error {
  type?: string;
  status?: number;
}

const BODY_ERRORS: Record<string, { status: number; message: string }> = {
  'entity.too.large': { status: 413, message: `Request body is larger than ${BODY_LIMIT}` },
  'entity.parse.failed': { status: 400, message: 'Request body is not valid JSON' },
  'encoding.unsupported': { status: 415, message: 'Unsupported content encoding' },
  'charset.unsupported': { status: 415, message: 'Unsupported charset' },
};

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Keys that class-transformer drops silently (prototype pollution guard); refused instead, like any unknown field. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** What makes a parsed JSON value unacceptable; `path` is where, as in `items[2].title`. */
export type JsonProblem =
  | { kind: 'too-deep' }
  | { kind: 'prototype-key'; key: string }
  | { kind: 'nul'; path: string }
  | { kind: 'nul-in-key' };

interface Visit {
  value: unknown;
  /** How many arrays and objects enclose the value. */
  depth: number;
  parent?: Visit;
  key?: string | number;
}

function pathOf(visit: Visit): string {
  const keys: (string | number)[] = [];
  for (let at: Visit | undefined = visit; at?.key !== undefined; at = at.parent) keys.push(at.key);
  return keys
    .reverse()
    .map((key, index) => (typeof key === 'number' ? `[${key}]` : index === 0 ? key : `.${key}`))
    .join('');
}

/**
 * The first problem in a parsed JSON value: nesting deeper than MAX_JSON_DEPTH, a prototype key,
 * and, with `nul`, a NUL character in a string or key (Postgres refuses it in text). A loop over an
 * explicit stack, not recursion: the value is untrusted, so its depth must not decide ours.
 * JSON.parse itself does not recurse in V8.
 */
export function jsonProblem(root: unknown, options: { nul: boolean }): JsonProblem | undefined {
  const stack: Visit[] = [{ value: root, depth: 0 }];
  for (let visit = stack.pop(); visit; visit = stack.pop()) {
    const { value } = visit;
    if (typeof value === 'string') {
      if (options.nul && value.includes('\0')) return { kind: 'nul', path: pathOf(visit) };
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    const depth = visit.depth + 1;
    if (depth > MAX_JSON_DEPTH) return { kind: 'too-deep' };
    const entries: [string | number, unknown][] = Array.isArray(value)
      ? value.map((item, index) => [index, item])
      : Object.entries(value);
    for (const [key, item] of entries) {
      if (typeof key === 'string') {
        if (PROTOTYPE_KEYS.has(key)) return { kind: 'prototype-key', key };
        if (options.nul && key.includes('\0')) return { kind: 'nul-in-key' };
      }
      stack.push({ value: item, depth, parent: visit, key });
    }
  }
  return undefined;
}

function describe(problem: JsonProblem): string {
  switch (problem.kind) {
    case 'too-deep':
      return `Request body is nested deeper than ${MAX_JSON_DEPTH} levels`;
    case 'prototype-key':
      return `property ${problem.key} should not exist`;
    case 'nul':
      return `${problem.path || 'Request body'} must not contain the NUL character (U+0000)`;
    case 'nul-in-key':
      return 'Property names must not contain the NUL character (U+0000)';
  }
}

function hasBody(req: Request): boolean {
  return (
    req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0'
  );
}

/**
 * JSON body parsing whose failures answer in Nest's error shape instead of Express's HTML page. A
 * state-changing REST request with a body that is not JSON is refused (415) rather than read as an
 * empty one; /graphql is left to Apollo, whose CSRF prevention answers such requests itself. Every
 * body is checked (jsonProblem) before anything else reads it; NUL characters are left to the
 * GraphQL input guard on /graphql, which answers in GraphQL's error shape.
 */
export function jsonBody(): (req: Request, res: Response, next: NextFunction) => void {
  const parse = json({ limit: BODY_LIMIT });
  const refuse = (res: Response, status: number, message: string) =>
    res.status(status).json({ statusCode: status, message, error: httpReason(status) });
  return (req, res, next) => {
    const graphql = req.path.startsWith('/graphql');
    if (!SAFE_METHODS.has(req.method) && hasBody(req) && !req.is('application/json') && !graphql) {
      refuse(res, 415, 'Request body must be JSON (Content-Type: application/json)');
      return;
    }
    parse(req, res, (error?: BodyParserError) => {
      if (error) {
        const known = BODY_ERRORS[error.type ?? ''];
        const status = known?.status ?? error.status ?? HttpStatus.BAD_REQUEST;
        refuse(res, status, known?.message ?? 'Request body could not be read');
        return;
      }
      const problem = jsonProblem(req.body, { nul: !graphql });
      if (problem) {
        refuse(res, 400, describe(problem));
        return;
      }
      next();
    });
  };
}

function httpReason(status: number): string {
  const reasons: Record<number, string> = {
    400: 'Bad Request',
    413: 'Payload Too Large',
    415: 'Unsupported Media Type',
  };
  return reasons[status] ?? 'Bad Request';
}
