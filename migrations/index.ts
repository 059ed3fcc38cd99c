import { Foundation1763900000000 } from './1763900000000-Foundation';
import { AuthAccounts1764000000000 } from './1764000000000-AuthAccounts';
import { Publishing1764100000000 } from './1764100000000-Publishing';
import { Notifications1764200000000 } from './1764200000000-Notifications';
import { NormalizedEmails1764300000000 } from './1764300000000-NormalizedEmails';

/** Every migration, in order. A new migration file is added here as well. */
export const MIGRATIONS = [
  Foundation1763900000000,
  AuthAccounts1764000000000,
  Publishing1764100000000,
  Notifications1764200000000,
  NormalizedEmails1764300000000,
];
