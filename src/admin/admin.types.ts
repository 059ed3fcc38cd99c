import { ArgsType, Field, Float, ID, Int, ObjectType } from '@nestjs/graphql';
import { IsIn, IsInt, IsOptional, IsString, Matches, MaxLength, Min } from 'class-validator';
import {
  AUDIT_EVENT_TYPES,
  type AuditEvent,
  type AuditEventType as AuditEventName,
} from '../infra/database/tables/audit-event.entity';
import { Connection, PageArgs } from '../graphql/pagination';
import type { ManagedAuthor } from './role-management.service';
import type { Role } from '../infra/database/tables/role.entity';

const ROLE_NAME = /^[a-z][a-z0-9_-]{0,39}$/;

/** An author as admins see them. */
@ObjectType('AdminAuthor')
export class AdminAuthorType {
  @Field(() => Int) id: number;
  @Field() email: string;
  @Field(() => String, { nullable: true }) name: string | null;
  @Field() slug: string;
  @Field() emailVerified: boolean;
  @Field(() => [String]) roles: string[];
  @Field(() => Float, { nullable: true }) bannedAt: number | null;
  @Field(() => Float) createdAt: number;
  @Field(() => Float, { nullable: true }) lastSeen: number | null;

  static of({ author, roles }: ManagedAuthor): AdminAuthorType {
    return {
      id: author.id,
      email: author.email,
      name: author.name,
      slug: author.slug,
      emailVerified: author.emailVerified,
      roles,
      bannedAt: author.bannedAt,
      createdAt: author.createdAt,
      lastSeen: author.lastSeen,
    };
  }
}

@ObjectType()
export class AdminAuthorConnection extends Connection(AdminAuthorType) {}

@ObjectType('Role')
export class RoleType {
  @Field() id: string;
  @Field() description: string;
  @Field(() => [String]) permissions: string[];

  static of(role: Role): RoleType {
    return {
      id: role.id,
      description: role.description,
      permissions: (role.permissions ?? []).map((permission) => permission.id).sort(),
    };
  }
}

@ObjectType('AuditEvent')
export class AuditEventType {
  @Field(() => ID) id: string;
  @Field(() => Int, { nullable: true }) authorId: number | null;
  @Field() type: string;
  @Field(() => String, { nullable: true }) ip: string | null;
  @Field(() => String, { nullable: true }) userAgent: string | null;
  @Field({ description: 'Event details as a JSON object' }) data: string;
  @Field(() => Float) createdAt: number;

  static of(event: AuditEvent): AuditEventType {
    return { ...event, data: JSON.stringify(event.data) };
  }
}

@ObjectType()
export class AuditEventConnection extends Connection(AuditEventType) {}

@ObjectType('OAuthProviderStats')
export class OAuthProviderStatsType {
  @Field() provider: string;
  @Field(() => Int, { description: 'Sign-ins and links completed, on every instance' })
  signIns: number;
  @Field(() => Int, { description: 'Callbacks that failed, on every instance' })
  failures: number;
}

@ObjectType('TokenStats', {
  description: 'Live tokens per type, the memory of their store, and sign-ins per OAuth provider',
})
export class TokenStatsType {
  @Field(() => Int) session: number;
  @Field(() => Int) verification: number;
  @Field(() => Int) oauthAccess: number;
  @Field(() => Int) oauthRefresh: number;
  @Field(() => Int) oauthState: number;
  @Field(() => Int) sseTicket: number;
  @Field(() => Float) storeUsedBytes: number;
  @Field(() => Float, { description: '0 when the store has no memory limit' })
  storeMaxBytes: number;
  @Field(() => [OAuthProviderStatsType]) oauthProviders: OAuthProviderStatsType[];
}

@ArgsType()
export class AuthorsArgs extends PageArgs {
  @Field({ nullable: true, description: 'Part of an email, name or slug' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  search?: string;

  @Field({ nullable: true })
  @IsOptional()
  @Matches(ROLE_NAME, { message: 'role must be a role name' })
  role?: string;
}

@ArgsType()
export class RoleChangeArgs {
  @Field(() => Int)
  @IsInt()
  @Min(1)
  authorId: number;

  @Field()
  @Matches(ROLE_NAME, { message: 'role must be a role name' })
  role: string;
}

@ArgsType()
export class BanArgs {
  @Field(() => Int)
  @IsInt()
  @Min(1)
  authorId: number;

  @Field({ nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  reason?: string;
}

@ArgsType()
export class AuditLogArgs extends PageArgs {
  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(1)
  authorId?: number;

  @Field({ nullable: true })
  @IsOptional()
  @IsIn(AUDIT_EVENT_TYPES, { message: 'type must be an audit event type' })
  type?: AuditEventName;
}
