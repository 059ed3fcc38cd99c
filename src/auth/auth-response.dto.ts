import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { SessionView } from './account-sessions.service';
import type { IssuedSession } from './auth.service';
import type { LinkedAccountView } from './linked-accounts.service';
import type { ProfileView } from './profile.service';

/** REST speaks snake_case; these classes document the shapes and build them. */
export class ProfileDto {
  @ApiProperty() id: number;
  @ApiProperty() email: string;
  @ApiProperty({ nullable: true, type: String }) name: string | null;
  @ApiProperty() slug: string;
  @ApiProperty({ nullable: true, type: String }) pic: string | null;
  @ApiProperty({ nullable: true, type: String }) bio: string | null;
  @ApiProperty() email_verified: boolean;
  @ApiProperty({ nullable: true, type: String }) phone: string | null;
  @ApiProperty() phone_verified: boolean;
  @ApiProperty({ type: [String], example: ['user'] }) roles: string[];
  @ApiProperty({ type: [String], example: ['read', 'write'] }) permissions: string[];
  @ApiProperty({ description: 'epoch seconds' }) created_at: number;
  @ApiProperty({ nullable: true, type: Number, description: 'epoch seconds' })
  last_seen: number | null;

  static of(view: ProfileView): ProfileDto {
    return {
      id: view.id,
      email: view.email,
      name: view.name,
      slug: view.slug,
      pic: view.pic,
      bio: view.bio,
      email_verified: view.emailVerified,
      phone: view.phone,
      phone_verified: view.phoneVerified,
      roles: view.roles,
      permissions: view.permissions,
      created_at: view.createdAt,
      last_seen: view.lastSeen,
    };
  }
}

export class SessionDto {
  @ApiProperty({ description: 'the session id (JWT jti)' }) id: string;
  @ApiProperty({ description: 'epoch seconds' }) created_at: number;
  @ApiProperty({ description: 'epoch seconds' }) last_active: number;
  @ApiProperty({ description: 'epoch seconds' }) expires_at: number;
  @ApiProperty({ nullable: true, type: String }) ip: string | null;
  @ApiProperty({ nullable: true, type: String }) user_agent: string | null;
  @ApiProperty({ description: 'the session this request is made with' }) current: boolean;

  static of(view: SessionView): SessionDto {
    return {
      id: view.id,
      created_at: view.createdAt,
      last_active: view.lastActive,
      expires_at: view.expiresAt,
      ip: view.ip,
      user_agent: view.userAgent,
      current: view.current,
    };
  }
}

export class AuthResponseDto {
  @ApiProperty({ type: ProfileDto }) author: ProfileDto;
  @ApiProperty({ type: SessionDto }) session: SessionDto;
  @ApiPropertyOptional({ description: 'only in bearer mode' }) token?: string;

  /** `token` only when it was asked for in bearer mode; a cookie client never sees it. */
  static of(issued: IssuedSession, token: string | undefined): AuthResponseDto {
    const body: AuthResponseDto = {
      author: ProfileDto.of(issued.author),
      session: SessionDto.of(issued.session),
    };
    if (token !== undefined) body.token = token;
    return body;
  }
}

export class LinkedAccountDto {
  @ApiProperty({ example: 'github' }) provider: string;
  @ApiProperty() provider_id: string;
  @ApiProperty({ nullable: true, type: String }) provider_email: string | null;
  @ApiProperty({ description: 'epoch seconds' }) linked_at: number;

  static of(view: LinkedAccountView): LinkedAccountDto {
    return {
      provider: view.provider,
      provider_id: view.providerId,
      provider_email: view.providerEmail,
      linked_at: view.linkedAt,
    };
  }
}

export class EmailVerifiedDto {
  @ApiProperty({ example: true }) email_verified: true;
}

export class PhoneVerifiedDto {
  @ApiProperty({ example: '+15551234567' }) phone: string;
  @ApiProperty({ example: true }) phone_verified: true;
}
