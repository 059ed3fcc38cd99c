import { Foundation1763900000000 } from './1763900000000-Foundation';

/** Every migration, in order. A new migration file is added here as well. */
export const MIGRATIONS = [Foundation1763900000000];
