import {
  BadRequestException,
  ForbiddenException,
  InternalServerErrorException,
  NotFoundException,
  UnauthorizedException,
} from '@nestjs/common';
import { GraphQLError } from 'graphql';
import { DependencyUnavailableError } from '../infra/availability/dependency-unavailable.error';
import { formatGraphQLError } from './graphql-error.formatter';

/** What Apollo hands to formatError for an exception thrown in a resolver. */
function fromResolver(error: Error) {
  const wrapped = new GraphQLError(error.message, { originalError: error, path: ['me'] });
  return { formatted: { message: error.message, path: ['me'] }, wrapped };
}

describe('formatGraphQLError', () => {
  it.each([
    [new UnauthorizedException('Authentication required'), 'UNAUTHENTICATED'],
    [new ForbiddenException('No'), 'FORBIDDEN'],
    [new NotFoundException('Session not found'), 'NOT_FOUND'],
    [new BadRequestException('Wrong code'), 'BAD_USER_INPUT'],
  ])('gives %s the code %s and keeps its message', (exception, code) => {
    const { formatted, wrapped } = fromResolver(exception);
    expect(formatGraphQLError(formatted, wrapped)).toEqual({
      message: exception.message,
      path: ['me'],
      locations: undefined,
      extensions: { code, status: exception.getStatus() },
    });
  });

  it('joins the validation pipe’s messages', () => {
    const exception = new BadRequestException([
      'email must be an email address',
      'password too short',
    ]);
    const { formatted, wrapped } = fromResolver(exception);
    expect(formatGraphQLError(formatted, wrapped).message).toBe(
      'email must be an email address; password too short',
    );
  });

  it.each([
    [new DependencyUnavailableError('redis'), 'Redis is unavailable; try again shortly'],
    [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      'The database is unavailable; try again shortly',
    ],
  ])('answers %s with SERVICE_UNAVAILABLE, not an internal error', (error, message) => {
    const { formatted, wrapped } = fromResolver(error);
    expect(formatGraphQLError(formatted, wrapped)).toEqual({
      message,
      path: ['me'],
      locations: undefined,
      extensions: { code: 'SERVICE_UNAVAILABLE', status: 503 },
    });
  });

  it('hides unexpected errors and 5xx behind a generic message', () => {
    for (const error of [
      new Error('relation "author" does not exist at SELECT …'),
      new InternalServerErrorException('connection refused to 10.0.0.5'),
    ]) {
      const { formatted, wrapped } = fromResolver(error);
      const result = formatGraphQLError(formatted, wrapped);
      expect(result.message).toBe('Internal server error');
      expect(result.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(JSON.stringify(result)).not.toMatch(/author|10\.0\.0\.5|stacktrace/);
    }
  });

  it('keeps Apollo’s own request errors, without a stack trace', () => {
    const formatted = {
      message: 'Cannot query field "nope" on type "Query".',
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED', stacktrace: ['GraphQLError: …'] },
    };
    expect(formatGraphQLError(formatted, new GraphQLError(formatted.message))).toEqual({
      message: formatted.message,
      path: undefined,
      locations: undefined,
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    });
  });
});
