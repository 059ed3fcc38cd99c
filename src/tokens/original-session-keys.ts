/**
 * Where the original platform's auth service keeps a session (docs/CUT-OVER.md): a hash
 * `session:{user_id}:{token}` listed by token in `user_sessions:{user_id}`, or, for older sessions,
 * a key `{user_id}-{username}-{token}`. Both have the raw JWT in the key, which this service never
 * writes; they are only read, migrated and deleted.
 */
export const originalSessionKey = (userId: number, token: string) => `session:${userId}:${token}`;
export const olderOriginalSessionKey = (userId: number, username: string, token: string) =>
  `${userId}-${username}-${token}`;

/** SCAN patterns that find them: a JWT starts with `eyJ` (`{"` in base64url). */
export const ORIGINAL_SESSION_PATTERN = 'session:*:eyJ*';
export const OLDER_ORIGINAL_SESSION_PATTERN = '*-*-eyJ*';

const JWT = 'eyJ[A-Za-z0-9_-]*\\.[A-Za-z0-9_-]*\\.[A-Za-z0-9_-]*';
const ORIGINAL = new RegExp(`^session:(\\d+):(${JWT})$`);
const OLDER = new RegExp(`^(\\d+)-(.*)-(${JWT})$`);

export interface OriginalKey {
  key: string;
  layout: 'current' | 'older';
  userId: number;
  /** Only the older layout names it. */
  username?: string;
  token: string;
}

/** What a key found by one of the patterns names, or null for a key of another shape. */
export function parseOriginalKey(key: string): OriginalKey | null {
  const current = ORIGINAL.exec(key);
  if (current) return { key, layout: 'current', userId: Number(current[1]), token: current[2] };
  const older = OLDER.exec(key);
  if (older) {
    return { key, layout: 'older', userId: Number(older[1]), username: older[2], token: older[3] };
  }
  return null;
}
