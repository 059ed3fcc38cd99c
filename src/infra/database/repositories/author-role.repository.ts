import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { type EntityManager, Repository } from 'typeorm';
import { Author } from '../../../auth/author.entity';
import { AuthorRole } from '../../../permissions/author-role.entity';
import { nowSeconds } from '../epoch-seconds.transformer';

export interface RolesAndPermissions {
  roles: string[];
  permissions: string[];
}

export const ADMIN_ROLE = 'admin';

export type RoleRemoval = 'removed' | 'not_held' | 'last_admin';
export type BanResult = 'banned' | 'already_banned' | 'last_admin' | 'not_found';

@Injectable()
export class AuthorRoleRepository {
  constructor(@InjectRepository(AuthorRole) private readonly authorRoles: Repository<AuthorRole>) {}

  /** An author's roles and the union of their permissions, each sorted by name. */
  async rolesAndPermissions(authorId: number): Promise<RolesAndPermissions> {
    const rows: { role_id: string; permission_id: string | null }[] = await this.authorRoles
      .createQueryBuilder('ar')
      .select('ar.role_id', 'role_id')
      .addSelect('rp.permission_id', 'permission_id')
      .leftJoin('role_permission', 'rp', 'rp.role_id = ar.role_id')
      .where('ar.author_id = :authorId', { authorId })
      .getRawMany();
    const roles = new Set(rows.map((row) => row.role_id));
    const permissions = new Set(
      rows.flatMap((row) => (row.permission_id ? [row.permission_id] : [])),
    );
    return { roles: [...roles].sort(), permissions: [...permissions].sort() };
  }

  /** Grants a role; false when the author already had it. */
  async grant(authorId: number, roleId: string, grantedBy: number | null): Promise<boolean> {
    const inserted: unknown[] = await this.authorRoles.query(
      `INSERT INTO author_role (author_id, role_id, granted_at, granted_by) VALUES ($1, $2, $3, $4)
       ON CONFLICT DO NOTHING RETURNING author_id`,
      [authorId, roleId, nowSeconds(), grantedBy],
    );
    return inserted.length > 0;
  }

  /**
   * Removes a role, refusing to take `admin` from the last active admin. Under the admins lock, so
   * two admins demoting or banning each other at once cannot both succeed.
   */
  revoke(authorId: number, roleId: string): Promise<RoleRemoval> {
    return this.authorRoles.manager.transaction(async (manager) => {
      if (roleId === ADMIN_ROLE) {
        const admins = await lockActiveAdmins(manager);
        if (admins.length === 1 && admins[0] === authorId) return 'last_admin';
      }
      const result = await manager.delete(AuthorRole, { authorId, roleId });
      return (result.affected ?? 0) > 0 ? 'removed' : 'not_held';
    });
  }

  /** Sets `banned_at`, refusing to ban the last active admin (under the same lock as `revoke`). */
  ban(authorId: number): Promise<BanResult> {
    return this.authorRoles.manager.transaction(async (manager) => {
      const admins = await lockActiveAdmins(manager);
      if (admins.length === 1 && admins[0] === authorId) return 'last_admin';
      const author = await manager.findOneBy(Author, { id: authorId });
      if (!author) return 'not_found';
      if (author.bannedAt !== null) return 'already_banned';
      await manager.update(Author, { id: authorId }, { bannedAt: nowSeconds() });
      return 'banned';
    });
  }
}

/** Serialises every transaction that could change the number of active admins. */
const ADMINS_LOCK = 'tessera:active-admins';

/**
 * Ids of the admins who are not banned, read after taking a transaction-scoped advisory lock:
 * a row lock alone is not enough, since a ban changes `author`, not `author_role`, and a waiting
 * transaction would count the banned admin as active from its older snapshot.
 */
async function lockActiveAdmins(manager: EntityManager): Promise<number[]> {
  await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', [ADMINS_LOCK]);
  const rows: { author_id: number }[] = await manager.query(
    `SELECT ar.author_id FROM author_role ar JOIN author a ON a.id = ar.author_id
      WHERE ar.role_id = $1 AND a.banned_at IS NULL
      ORDER BY ar.author_id`,
    [ADMIN_ROLE],
  );
  return rows.map((row) => Number(row.author_id));
}
