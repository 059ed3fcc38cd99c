import {
  BadRequestException,
  ConflictException,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import type { AuditEvent, AuditEventType } from '../infra/database/tables/audit-event.entity';
import type { Author } from '../infra/database/tables/author.entity';
import type { ClientInfo } from '../infra/http/client-info.decorator';
import { fetchPage, type Page, type PageArgs } from '../graphql/pagination';
import { AuthorRoleRepository } from '../infra/database/tables/author-role.repository';
import { AuthorRepository } from '../infra/database/tables/author.repository';
import { RoleRepository } from '../infra/database/tables/role.repository';
import type { Role } from '../infra/database/tables/role.entity';
import { SessionTokenManager } from '../tokens/session-token.service';
import { PermissionsService } from '../permissions/permissions.service';

/** An author as admins see them. */
export interface ManagedAuthor {
  author: Author;
  roles: string[];
}

/** What an admin does to other authors: roles, bans, sessions. Every change is audited. */
@Injectable()
export class RoleManagementService {
  constructor(
    private readonly authors: AuthorRepository,
    private readonly authorRoles: AuthorRoleRepository,
    private readonly roles: RoleRepository,
    private readonly permissions: PermissionsService,
    private readonly sessions: SessionTokenManager,
    private readonly audit: AuditService,
  ) {}

  listRoles(): Promise<Role[]> {
    return this.roles.listWithPermissions();
  }

  async listAuthors(
    filter: { search?: string; role?: string },
    page: PageArgs,
  ): Promise<Page<ManagedAuthor>> {
    const found = await fetchPage(
      page,
      (afterId, limit) => this.authors.search({ ...filter, afterId, limit }),
      (author) => author.id,
    );
    return {
      nodes: await Promise.all(found.nodes.map((author) => this.managed(author))),
      pageInfo: found.pageInfo,
    };
  }

  async assignRole(actor: Author, authorId: number, roleId: string, client: ClientInfo) {
    const author = await this.existing(authorId);
    if (!(await this.roles.exists(roleId))) throw new NotFoundException(`Unknown role ${roleId}`);
    if (await this.authorRoles.grant(authorId, roleId, actor.id)) {
      await this.permissions.invalidate(authorId);
      await this.audit.record('role_granted', {
        authorId,
        client,
        data: { role: roleId, by: actor.id },
      });
    }
    return this.managed(author);
  }

  async removeRole(actor: Author, authorId: number, roleId: string, client: ClientInfo) {
    const author = await this.existing(authorId);
    if (!(await this.roles.exists(roleId))) throw new NotFoundException(`Unknown role ${roleId}`);
    const result = await this.authorRoles.revoke(authorId, roleId);
    if (result === 'last_admin') {
      throw new ConflictException('The last admin cannot lose the admin role');
    }
    if (result === 'removed') {
      await this.permissions.invalidate(authorId);
      await this.audit.record('role_revoked', {
        authorId,
        client,
        data: { role: roleId, by: actor.id },
      });
    }
    return this.managed(author);
  }

  /** Bans an author: they cannot sign in, and every session of theirs ends now. */
  async ban(actor: Author, authorId: number, reason: string | undefined, client: ClientInfo) {
    if (actor.id === authorId) throw new BadRequestException('You cannot ban yourself');
    const result = await this.authors.ban(authorId);
    if (result === 'not_found') throw new NotFoundException('Author not found');
    if (result === 'last_admin') throw new ConflictException('The last admin cannot be banned');
    if (result === 'banned') {
      const revoked = await this.sessions.revokeUserSessions(authorId);
      await this.permissions.invalidate(authorId);
      await this.audit.record('author_banned', {
        authorId,
        client,
        data: { by: actor.id, reason: reason ?? null, sessions_revoked: revoked },
      });
    }
    return this.managed(await this.existing(authorId));
  }

  async unban(actor: Author, authorId: number, client: ClientInfo) {
    await this.existing(authorId);
    if (await this.authors.unban(authorId)) {
      await this.audit.record('author_unbanned', { authorId, client, data: { by: actor.id } });
    }
    return this.managed(await this.existing(authorId));
  }

  async revokeSessions(actor: Author, authorId: number, client: ClientInfo): Promise<number> {
    await this.existing(authorId);
    const revoked = await this.sessions.revokeUserSessions(authorId);
    await this.audit.record('session_revoked', {
      authorId,
      client,
      data: { by: actor.id, all: true, count: revoked },
    });
    return revoked;
  }

  async auditLog(
    filter: { authorId?: number; type?: AuditEventType },
    page: PageArgs,
  ): Promise<Page<AuditEvent>> {
    return fetchPage(
      page,
      (after, limit) =>
        this.audit.list({
          ...filter,
          beforeId: after === undefined ? undefined : String(after),
          limit,
        }),
      (event) => event.id,
      Number.MAX_SAFE_INTEGER,
    );
  }

  private async existing(authorId: number): Promise<Author> {
    const author = await this.authors.findById(authorId);
    if (!author) throw new NotFoundException('Author not found');
    return author;
  }

  private async managed(author: Author): Promise<ManagedAuthor> {
    const { roles } = await this.permissions.accessOf(author.id);
    return { author, roles };
  }
}
