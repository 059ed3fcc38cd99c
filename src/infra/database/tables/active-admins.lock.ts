import type { EntityManager } from 'typeorm';

export const ADMIN_ROLE = 'admin';

/** Serialises every transaction that could change the number of active admins. */
const ADMINS_LOCK = 'tessera:active-admins';

/**
 * Ids of the admins who are not banned, read after taking a transaction-scoped advisory lock:
 * a row lock alone is not enough, since a ban changes `author`, not `author_role`, and a waiting
 * transaction would count the banned admin as active from its older snapshot.
 */
export async function lockActiveAdmins(manager: EntityManager): Promise<number[]> {
  await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', [ADMINS_LOCK]);
  const rows: { author_id: number }[] = await manager.query(
    `SELECT ar.author_id FROM author_role ar JOIN author a ON a.id = ar.author_id
      WHERE ar.role_id = $1 AND a.banned_at IS NULL
      ORDER BY ar.author_id`,
    [ADMIN_ROLE],
  );
  return rows.map((row) => Number(row.author_id));
}
