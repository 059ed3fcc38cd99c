import { type ArgumentsHost, Catch, HttpStatus, ServiceUnavailableException } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { Response } from 'express';
import { dependencyFailureOf } from '../availability/dependency-unavailable.error';

/** Seconds a client is told to wait when Redis or Postgres is unavailable. */
export const UNAVAILABLE_RETRY_AFTER_S = 1;

/**
 * The HTTP form of "Redis or Postgres cannot be reached" (docs/RELIABILITY.md, "Failing closed"),
 * or undefined for any other error. The GraphQL error formatter uses it too.
 */
export function serviceUnavailableOf(error: unknown): ServiceUnavailableException | undefined {
  const failure = dependencyFailureOf(error);
  return failure && new ServiceUnavailableException(failure.message, { cause: failure });
}

/**
 * Answers a REST request whose Redis or Postgres is unavailable with 503 and `Retry-After`,
 * instead of Nest's 500; every other error goes on to Nest's own handling. GraphQL errors pass
 * through to the GraphQL error formatter.
 */
@Catch()
export class ServiceUnavailableFilter extends BaseExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const unavailable = serviceUnavailableOf(exception);
    if (!unavailable) return super.catch(exception, host);
    const res = host.switchToHttp().getResponse<Response>();
    if (res.headersSent) {
      res.end();
      return;
    }
    res
      .status(HttpStatus.SERVICE_UNAVAILABLE)
      .setHeader('Retry-After', String(UNAVAILABLE_RETRY_AFTER_S))
      .json(unavailable.getResponse());
  }
}
