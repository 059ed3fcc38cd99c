import {
  ConflictException,
  ForbiddenException,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { DuplicateKeyError } from '../infra/database/tables/duplicate-key.error';
import {
  AUTHOR_EMAIL_UNIQUE,
  AUTHOR_SLUG_UNIQUE,
  AuthorRepository,
} from '../infra/database/tables/author.repository';
import { EmailRateLimits } from '../rate-limit/email-rate-limits.service';
import { SessionTokenManager } from '../tokens/session-token.service';
import { type SessionView, sessionView } from './account-sessions.service';
import type { AuthContext } from '../permissions/auth-context';
import type { Author } from '../infra/database/tables/author.entity';
import type { ClientInfo } from '../infra/http/client-info.decorator';
import { EmailVerificationService } from './email-verification.service';
import { PasswordService } from './password.service';
import { type ProfileView, ProfileService } from './profile.service';
import { SlugService } from './slug.service';

/** A session just created for an author; the caller decides how the token travels. */
export interface IssuedSession {
  author: ProfileView;
  session: SessionView;
  token: string;
}

export interface Registration {
  /** Normalized (src/auth/email-address.ts), as every validated input's email is. */
  email: string;
  password: string;
  name?: string;
}

/** The role every new author gets (README, Roles and permissions). */
const DEFAULT_ROLE = 'user';
const INVALID_CREDENTIALS = 'Invalid email or password';

/** Sign-up, sign-in, sign-out, rotation and password change: everything that creates or ends sessions. */
@Injectable()
export class AuthService {
  constructor(
    private readonly authors: AuthorRepository,
    private readonly passwords: PasswordService,
    private readonly sessions: SessionTokenManager,
    private readonly profiles: ProfileService,
    private readonly slugs: SlugService,
    private readonly emailVerification: EmailVerificationService,
    private readonly audit: AuditService,
    private readonly limits: EmailRateLimits,
  ) {}

  async register(input: Registration, client: ClientInfo): Promise<IssuedSession> {
    const { email } = input;
    const passwordHash = await this.passwords.hash(input.password);
    let slug = await this.slugs.forNewAuthor(input.name, email);
    let author: Author | undefined;
    // One retry covers two sign-ups racing for the same free slug.
    for (let attempt = 0; !author; attempt += 1) {
      try {
        author = await this.authors.create(
          { email, slug, name: input.name?.trim() || null, passwordHash },
          DEFAULT_ROLE,
        );
      } catch (error) {
        if (!(error instanceof DuplicateKeyError)) throw error;
        if (error.constraint === AUTHOR_EMAIL_UNIQUE) {
          throw new ConflictException('An account with this email already exists');
        }
        if (error.constraint !== AUTHOR_SLUG_UNIQUE || attempt > 0) throw error;
        slug = this.slugs.withSuffix(slug);
      }
    }
    await this.audit.record('register', { authorId: author.id, client });
    this.emailVerification.sendInBackground(author);
    return this.issue(author, client);
  }

  /**
   * Unknown email and wrong password answer alike, and take alike: the password is checked against
   * a dummy hash when there is no account. `email` is normalized (src/auth/email-address.ts); the
   * account is looked up and the limits are counted by that one value.
   */
  async login(email: string, password: string, client: ClientInfo): Promise<IssuedSession> {
    await this.limits.beforeLogin(email, client.ip);
    const author = await this.authors.findByEmailWithPassword(email);
    const check = await this.passwords.check(password, author?.passwordHash);
    if (!author || !check.valid) {
      await this.limits.loginFailed(email);
      await this.audit.record('login_failure', {
        authorId: author?.id ?? null,
        client,
        data: { email, reason: author ? 'password' : 'unknown_email' },
      });
      throw new UnauthorizedException(INVALID_CREDENTIALS);
    }
    await this.limits.loginSucceeded(email, client.ip);
    if (author.bannedAt !== null) {
      await this.audit.record('login_failure', {
        authorId: author.id,
        client,
        data: { reason: 'banned' },
      });
      throw new ForbiddenException('This account is suspended');
    }
    if (check.needsRehash) {
      await this.authors.setPasswordHash(author.id, await this.passwords.hash(password));
    }
    await this.authors.touchLastSeen(author.id);
    await this.audit.record('login_success', { authorId: author.id, client });
    const fresh = (await this.authors.findById(author.id)) ?? author;
    return this.issue(fresh, client);
  }

  /** Ends the caller's session, if there is one; idempotent. */
  async logout(auth: AuthContext | undefined, client: ClientInfo): Promise<void> {
    if (!auth) return;
    const revoked = await this.sessions.revokeSession(auth.author.id, auth.session.jti);
    if (revoked) {
      await this.audit.record('logout', {
        authorId: auth.author.id,
        client,
        data: { session_id: auth.session.jti },
      });
    }
  }

  /** Rotation: a new session replaces the current one, which is revoked. */
  async refresh(auth: AuthContext, client: ClientInfo): Promise<IssuedSession> {
    const token = await this.sessions.refreshSession(auth.author.id, auth.token, client);
    if (!token) throw new UnauthorizedException('Session is no longer valid');
    return this.describe(auth.author, token);
  }

  /** Sets a new password after checking the current one; every other session ends. */
  async changePassword(
    auth: AuthContext,
    oldPassword: string,
    newPassword: string,
    client: ClientInfo,
  ): Promise<void> {
    const author = await this.authors.findByIdWithPassword(auth.author.id);
    const check = await this.passwords.check(oldPassword, author?.passwordHash);
    if (!author || !check.valid) {
      throw new ForbiddenException('The current password is not correct');
    }
    await this.authors.setPasswordHash(author.id, await this.passwords.hash(newPassword));
    const revoked = await this.sessions.revokeUserSessions(author.id, { except: auth.session.jti });
    await this.audit.record('password_changed', {
      authorId: author.id,
      client,
      data: { sessions_revoked: revoked },
    });
  }

  private async issue(author: Author, client: ClientInfo): Promise<IssuedSession> {
    const token = await this.sessions.createSession(author.id, {
      username: author.name ?? author.slug,
      deviceInfo: client,
    });
    return this.describe(author, token);
  }

  private async describe(author: Author, token: string): Promise<IssuedSession> {
    const [session, profile] = await Promise.all([
      this.sessions.verifySession(token),
      this.profiles.view(author),
    ]);
    if (!session) throw new UnauthorizedException('Session is no longer valid');
    return { author: profile, session: sessionView(session, session.jti), token };
  }
}
