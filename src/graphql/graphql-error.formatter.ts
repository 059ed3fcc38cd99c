import { HttpException, Logger } from '@nestjs/common';
import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLFormattedError } from 'graphql';
import { serviceUnavailableOf } from '../infra/http/service-unavailable.filter';

/** HTTP statuses as GraphQL `extensions.code`: 400 BAD_USER_INPUT, 401 UNAUTHENTICATED, 403 FORBIDDEN, 404 NOT_FOUND, 409 CONFLICT, 429 TOO_MANY_REQUESTS. */
const CODES: Record<number, string> = {
  400: 'BAD_USER_INPUT',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  429: 'TOO_MANY_REQUESTS',
  503: 'SERVICE_UNAVAILABLE',
};

/** Codes Apollo itself gives to requests it could not parse, validate or accept. */
const REQUEST_ERRORS = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'QUERY_TOO_COMPLEX',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

const logger = new Logger('GraphQL');

/**
 * The one place that turns exceptions into GraphQL errors: Nest's HTTP exceptions keep their
 * message and get the code for their status; anything unexpected is logged and answered with a
 * bare "Internal server error", never a stack trace or SQL.
 */
export function formatGraphQLError(
  formatted: GraphQLFormattedError,
  error: unknown,
): GraphQLFormattedError {
  const unwrapped = unwrapResolverError(error);
  const original = serviceUnavailableOf(unwrapped) ?? unwrapped;
  const base = { locations: formatted.locations, path: formatted.path };
  if (original instanceof HttpException) {
    const status = original.getStatus();
    const response = original.getResponse();
    const messages =
      typeof response === 'object' ? (response as { message?: unknown }).message : undefined;
    const message = Array.isArray(messages) ? messages.join('; ') : original.message;
    const code = CODES[status] ?? (status >= 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_REQUEST');
    const hidden = status >= 500 && status !== 503;
    if (hidden) logger.error(`${original.message}`, original.stack);
    return {
      ...base,
      message: hidden ? 'Internal server error' : message,
      extensions: { code, status },
    };
  }
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && REQUEST_ERRORS.has(code)) {
    return { ...base, message: formatted.message, extensions: { code } };
  }
  logger.error(
    `Unexpected error: ${(original as Error)?.message ?? String(original)}`,
    (original as Error)?.stack,
  );
  return {
    ...base,
    message: 'Internal server error',
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  };
}
