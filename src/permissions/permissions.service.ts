import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  AuthorRoleRepository,
  type RolesAndPermissions,
} from '../infra/database/tables/author-role.repository';
import { REDIS_STORE, type RedisStore } from '../infra/redis/redis-store';

const CACHE_TTL_MS = 10 * 60 * 1000;
const cacheKey = (authorId: number) => `author_access:${authorId}`;

/**
 * An author's effective roles and permissions, cached in the shared store. A role change deletes the
 * cached entry, so the next request on any instance reads the new roles from Postgres.
 */
@Injectable()
export class PermissionsService {
  private readonly logger = new Logger(PermissionsService.name);

  constructor(
    private readonly authorRoles: AuthorRoleRepository,
    @Inject(REDIS_STORE) private readonly store: RedisStore,
  ) {}

  async accessOf(authorId: number): Promise<RolesAndPermissions> {
    const cached = await this.store.get(cacheKey(authorId));
    if (cached !== null) return JSON.parse(cached) as RolesAndPermissions;
    const access = await this.authorRoles.rolesAndPermissions(authorId);
    await this.store
      .set(cacheKey(authorId), JSON.stringify(access), { ttlMs: CACHE_TTL_MS })
      .catch((error: Error) => this.logger.warn(`access cache write failed: ${error.message}`));
    return access;
  }

  /** Forgets the cached access of an author; call after every change of their roles. */
  async invalidate(authorId: number): Promise<void> {
    await this.store.del(cacheKey(authorId));
  }
}
