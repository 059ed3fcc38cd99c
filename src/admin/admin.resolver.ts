import { Args, Int, Mutation, Query, Resolver } from '@nestjs/graphql';
import type { Author } from '../infra/database/tables/author.entity';
import { Client, type ClientInfo } from '../infra/http/client-info.decorator';
import { OAuthStats } from '../oauth/oauth-stats.service';
import { TokenMonitoring } from '../tokens/token-monitoring.service';
import { AdminRequired, CurrentUser } from '../permissions/access.decorator';
import {
  AdminAuthorConnection,
  AdminAuthorType,
  AuditEventConnection,
  AuditEventType,
  AuditLogArgs,
  AuthorsArgs,
  BanArgs,
  RoleChangeArgs,
  RoleType,
  TokenStatsType,
} from './admin.types';
import { RoleManagementService } from './role-management.service';

/** Admin-only GraphQL operations (README, "Roles and permissions"). */
@Resolver()
@AdminRequired()
export class AdminResolver {
  constructor(
    private readonly management: RoleManagementService,
    private readonly monitoring: TokenMonitoring,
    private readonly oauthStats: OAuthStats,
  ) {}

  @Query(() => AdminAuthorConnection)
  async authors(@Args() args: AuthorsArgs): Promise<AdminAuthorConnection> {
    const page = await this.management.listAuthors(args, args);
    return { nodes: page.nodes.map(AdminAuthorType.of), pageInfo: page.pageInfo };
  }

  @Query(() => [RoleType])
  async roles(): Promise<RoleType[]> {
    return (await this.management.listRoles()).map(RoleType.of);
  }

  @Mutation(() => AdminAuthorType)
  async assignRole(
    @CurrentUser() actor: Author,
    @Args() args: RoleChangeArgs,
    @Client() client: ClientInfo,
  ): Promise<AdminAuthorType> {
    return AdminAuthorType.of(
      await this.management.assignRole(actor, args.authorId, args.role, client),
    );
  }

  @Mutation(() => AdminAuthorType, { description: 'The last admin cannot lose the admin role' })
  async removeRole(
    @CurrentUser() actor: Author,
    @Args() args: RoleChangeArgs,
    @Client() client: ClientInfo,
  ): Promise<AdminAuthorType> {
    return AdminAuthorType.of(
      await this.management.removeRole(actor, args.authorId, args.role, client),
    );
  }

  @Mutation(() => AdminAuthorType, { description: 'Revokes every session; sign-in is refused' })
  async banAuthor(
    @CurrentUser() actor: Author,
    @Args() args: BanArgs,
    @Client() client: ClientInfo,
  ): Promise<AdminAuthorType> {
    return AdminAuthorType.of(await this.management.ban(actor, args.authorId, args.reason, client));
  }

  @Mutation(() => AdminAuthorType)
  async unbanAuthor(
    @CurrentUser() actor: Author,
    @Args('authorId', { type: () => Int }) authorId: number,
    @Client() client: ClientInfo,
  ): Promise<AdminAuthorType> {
    return AdminAuthorType.of(await this.management.unban(actor, authorId, client));
  }

  @Mutation(() => Int, { description: 'How many sessions were revoked' })
  revokeAuthorSessions(
    @CurrentUser() actor: Author,
    @Args('authorId', { type: () => Int }) authorId: number,
    @Client() client: ClientInfo,
  ): Promise<number> {
    return this.management.revokeSessions(actor, authorId, client);
  }

  @Query(() => AuditEventConnection, { description: 'Newest first' })
  async auditLog(@Args() args: AuditLogArgs): Promise<AuditEventConnection> {
    const page = await this.management.auditLog(args, args);
    return { nodes: page.nodes.map(AuditEventType.of), pageInfo: page.pageInfo };
  }

  @Query(() => TokenStatsType)
  async tokenStats(): Promise<TokenStatsType> {
    const [active, memory, oauthProviders] = await Promise.all([
      this.monitoring.activeTokens(),
      this.monitoring.memory(),
      this.oauthStats.all(),
    ]);
    return {
      session: active.session,
      verification: active.verification,
      oauthAccess: active.oauth_access,
      oauthRefresh: active.oauth_refresh,
      oauthState: active.oauth_state,
      sseTicket: active.sse_ticket,
      storeUsedBytes: memory.usedBytes,
      storeMaxBytes: memory.maxBytes,
      oauthProviders,
    };
  }
}
