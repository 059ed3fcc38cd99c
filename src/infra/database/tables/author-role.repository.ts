import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { AuthorRole } from './author-role.entity';
import { ADMIN_ROLE, lockActiveAdmins } from './active-admins.lock';
import { nowSeconds } from './epoch-seconds.transformer';

export interface RolesAndPermissions {
  roles: string[];
  permissions: string[];
}

export type RoleRemoval = 'removed' | 'not_held' | 'last_admin';

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
}
