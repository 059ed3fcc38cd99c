import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Role } from './role.entity';

@Injectable()
export class RoleRepository {
  constructor(@InjectRepository(Role) private readonly roles: Repository<Role>) {}

  /** Every role with its permissions, by name. */
  listWithPermissions(): Promise<Role[]> {
    return this.roles.find({ relations: { permissions: true }, order: { id: 'ASC' } });
  }

  exists(roleId: string): Promise<boolean> {
    return this.roles.existsBy({ id: roleId });
  }
}
