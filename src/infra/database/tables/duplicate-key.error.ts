import { QueryFailedError } from 'typeorm';

/** A write refused by a unique constraint; `constraint` names it, so callers can say which value clashed. */
export class DuplicateKeyError extends Error {
  constructor(readonly constraint: string) {
    super(`duplicate key violates ${constraint}`);
  }
}

const UNIQUE_VIOLATION = '23505';

/** Runs a write and turns Postgres's unique violation into a `DuplicateKeyError`. */
export async function translateDuplicates<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const driverError = (error as { driverError?: { code?: string; constraint?: string } })
      .driverError;
    if (error instanceof QueryFailedError && driverError?.code === UNIQUE_VIOLATION) {
      throw new DuplicateKeyError(driverError.constraint ?? 'unique');
    }
    throw error;
  }
}
