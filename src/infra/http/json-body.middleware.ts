import { HttpStatus } from '@nestjs/common';
import { json, type NextFunction, type Request, type Response } from 'express';

export const BODY_LIMIT = '100kb';

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

function prototypeKeyIn(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  for (const key of Object.keys(value)) {
    if (PROTOTYPE_KEYS.has(key)) return key;
    const nested = prototypeKeyIn((value as Record<string, unknown>)[key]);
    if (nested) return nested;
  }
  return undefined;
}

function hasBody(req: Request): boolean {
  return (
    req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0'
  );
}

/**
 * JSON body parsing whose failures answer in Nest's error shape instead of Express's HTML page. A
 * state-changing REST request with a body that is not JSON is refused (415) rather than read as an
 * empty one; /graphql is left to Apollo, whose CSRF prevention answers such requests itself.
 */
export function jsonBody(): (req: Request, res: Response, next: NextFunction) => void {
  const parse = json({ limit: BODY_LIMIT });
  const refuse = (res: Response, status: number, message: string) =>
    res.status(status).json({ statusCode: status, message, error: httpReason(status) });
  return (req, res, next) => {
    if (
      !SAFE_METHODS.has(req.method) &&
      hasBody(req) &&
      !req.is('application/json') &&
      !req.path.startsWith('/graphql')
    ) {
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
      const forbidden = prototypeKeyIn(req.body);
      if (forbidden) {
        refuse(res, 400, `property ${forbidden} should not exist`);
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
