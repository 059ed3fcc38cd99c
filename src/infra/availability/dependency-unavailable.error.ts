/** A backing service the request needs. */
export type Dependency = 'redis' | 'database';

const LABELS: Record<Dependency, string> = { redis: 'Redis', database: 'The database' };

/**
 * A request could not be served because Redis or Postgres cannot be reached (down, restarting, or
 * too slow to answer within its timeout), as opposed to a bug or bad input. HTTP answers it with
 * 503 and `Retry-After`, GraphQL with SERVICE_UNAVAILABLE (docs/RELIABILITY.md, "Failing closed").
 */
export class DependencyUnavailableError extends Error {
  constructor(
    readonly dependency: Dependency,
    cause?: unknown,
  ) {
    super(`${LABELS[dependency]} is unavailable; try again shortly`, { cause });
    this.name = 'DependencyUnavailableError';
  }
}

/** Socket errors: the server is not there, or went away mid-conversation. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs that mean "no database right now": class 08 (connection exception), 57P01–57P03
 * (shutting down, crashed, starting up), 53300 (too many connections).
 */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123]|53300)$/;

/** What node-postgres says when a connection ends or cannot be made in time. */
const PG_CONNECTION_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|not queryable|Client was closed/i;

/**
 * The error as a DependencyUnavailableError when it is one, or when it is a database error that
 * means Postgres cannot be reached (TypeORM wraps the driver's error in `driverError`); undefined
 * for anything else, which stays a bug or a constraint violation.
 */
export function dependencyFailureOf(error: unknown): DependencyUnavailableError | undefined {
  if (error instanceof DependencyUnavailableError) return error;
  if (!(error instanceof Error)) return undefined;
  const driverError = (error as { driverError?: unknown }).driverError;
  const candidates = driverError instanceof Error ? [error, driverError] : [error];
  for (const candidate of candidates) {
    const code = (candidate as { code?: unknown }).code;
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))) {
      return new DependencyUnavailableError('database', error);
    }
    if (PG_CONNECTION_MESSAGES.test(candidate.message)) {
      return new DependencyUnavailableError('database', error);
    }
  }
  return undefined;
}
