import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { AuthorRole } from '../../../permissions/author-role.entity';

export interface RolesAndPermissions {
  roles: string[];
  permissions: string[];
}

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
}
