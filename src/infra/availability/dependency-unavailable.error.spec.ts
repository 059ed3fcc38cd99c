import { QueryFailedError } from 'typeorm';
import { DependencyUnavailableError, dependencyFailureOf } from './dependency-unavailable.error';

/** An error as node-postgres reports it: a message and, for server errors, a SQLSTATE `code`. */
const pgError = (message: string, code?: string) => Object.assign(new Error(message), { code });
const wrapped = (driverError: Error) => new QueryFailedError('SELECT 1', [], driverError);

describe('dependencyFailureOf', () => {
  it('keeps a DependencyUnavailableError as it is', () => {
    const error = new DependencyUnavailableError('redis');
    expect(dependencyFailureOf(error)).toBe(error);
  });

  it.each([
    ['a refused connection', pgError('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['a reset connection', pgError('read ECONNRESET', 'ECONNRESET')],
    ['a connection that ended', pgError('Connection terminated unexpectedly')],
    ['a pool that timed out', pgError('timeout exceeded when trying to connect')],
    ['a server shutting down (57P01)', wrapped(pgError('terminating connection', '57P01'))],
    [
      'a server starting up (57P03)',
      wrapped(pgError('the database system is starting up', '57P03')),
    ],
    ['a connection exception (08006)', wrapped(pgError('connection failure', '08006'))],
    ['too many connections (53300)', wrapped(pgError('too many clients', '53300'))],
  ])('calls %s the database being unavailable', (_case, error) => {
    const failure = dependencyFailureOf(error);
    expect(failure).toBeInstanceOf(DependencyUnavailableError);
    expect(failure?.dependency).toBe('database');
    expect(failure?.cause).toBe(error);
  });

  it.each([
    ['a unique violation (23505)', wrapped(pgError('duplicate key value', '23505'))],
    ['a syntax error (42601)', wrapped(pgError('syntax error at or near', '42601'))],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['something that is not an Error', 'a string'],
  ])('leaves %s alone', (_case, error) => {
    expect(dependencyFailureOf(error)).toBeUndefined();
  });
});
