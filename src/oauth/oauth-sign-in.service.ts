import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { normalizeEmail } from '../auth/email-address';
import { SlugService } from '../auth/slug.service';
import type { Author } from '../infra/database/tables/author.entity';
import { AuthorRepository } from '../infra/database/tables/author.repository';
import { DuplicateKeyError } from '../infra/database/tables/duplicate-key.error';
import {
  type NewOAuthAccount,
  OAUTH_AUTHOR_PROVIDER_UNIQUE,
  OAuthAccountRepository,
} from '../infra/database/tables/oauth-account.repository';
import type { ClientInfo } from '../infra/http/client-info.decorator';
import { OAuthTokenManager } from '../tokens/oauth-token.service';
import { SessionTokenManager } from '../tokens/session-token.service';
import type { ProviderUser } from './oauth2.strategy';
import { OAuthFailure } from './oauth-failure.error';
import type { OAuthFlow } from './oauth-state.store';

/** Addresses under this reserved domain (RFC 2606) stand in for providers that give no email. */
export const PLACEHOLDER_EMAIL_DOMAIN = 'users.oauth.invalid';
const DEFAULT_ROLE = 'user';

/** How a callback ended well: a new session (sign-in), or a link added to the caller's account. */
export type SignInResult = { kind: 'session'; token: string } | { kind: 'linked' };

/**
 * Resolves who a provider's user is (README, "Signing in with a provider"): the author already
 * linked to that provider id; else the author whose email the provider says is verified; else a
 * new author (role user), created in one transaction with the link. Then the provider's tokens are
 * kept encrypted, the session is created, and it is audited.
 */
@Injectable()
export class OAuthSignInService {
  constructor(
    private readonly accounts: OAuthAccountRepository,
    private readonly authors: AuthorRepository,
    private readonly slugs: SlugService,
    private readonly sessions: SessionTokenManager,
    private readonly oauthTokens: OAuthTokenManager,
    private readonly audit: AuditService,
  ) {}

  async complete(user: ProviderUser, flow: OAuthFlow, client: ClientInfo): Promise<SignInResult> {
    if (flow.linkAuthorId !== null) {
      await this.link(flow.linkAuthorId, user, client);
      return { kind: 'linked' };
    }
    const author = await this.resolve(user);
    if (author.bannedAt !== null) throw new OAuthFailure('account_banned', `author ${author.id}`);
    await this.keepTokens(author.id, user);
    const token = await this.sessions.createSession(author.id, {
      username: author.name ?? author.slug,
      deviceInfo: client,
    });
    await this.audit.record('oauth_login', {
      authorId: author.id,
      client,
      data: { provider: user.provider },
    });
    return { kind: 'session', token };
  }

  /** Records a failed sign-in; the author is known only when the provider identity was linked. */
  async recordFailure(provider: string, code: string, client: ClientInfo): Promise<void> {
    await this.audit.record('oauth_failure', {
      authorId: null,
      client,
      data: { provider, error: code },
    });
  }

  private async resolve(user: ProviderUser): Promise<Author> {
    const { provider, profile } = user;
    const linked = await this.accounts.findByProviderId(provider, profile.providerId);
    if (linked) {
      const author = await this.authors.findById(linked.authorId);
      if (author) return author;
    }
    const email = profile.email ? normalizeEmail(profile.email) : null;
    if (email && profile.emailVerified) {
      const owner = await this.authors.findByEmail(email);
      if (owner) {
        await this.linkAccount(owner.id, user);
        await this.audit.record('oauth_linked', { authorId: owner.id, data: { provider } });
        return owner;
      }
    }
    return this.create(user, email && profile.emailVerified ? email : null);
  }

  /** A new author, with an unverified placeholder address when the provider vouched for none. */
  private async create(user: ProviderUser, verifiedEmail: string | null): Promise<Author> {
    const { provider, profile } = user;
    const email = verifiedEmail ?? `${provider}-${profile.providerId}@${PLACEHOLDER_EMAIL_DOMAIN}`;
    let slug = await this.slugs.forNewAuthor(profile.name ?? undefined, email);
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.authors.create(
          {
            email,
            slug,
            name: profile.name,
            pic: profile.pic,
            emailVerified: verifiedEmail !== null,
          },
          DEFAULT_ROLE,
          accountOf(user),
        );
      } catch (error) {
        if (!(error instanceof DuplicateKeyError) || attempt > 1) throw error;
        // Two first sign-ins of the same identity racing: the other one created the author.
        const linked = await this.accounts.findByProviderId(provider, profile.providerId);
        const author = linked && (await this.authors.findById(linked.authorId));
        if (author) return author;
        slug = this.slugs.withSuffix(slug);
      }
    }
  }

  private async link(authorId: number, user: ProviderUser, client: ClientInfo): Promise<void> {
    const existing = await this.accounts.findByProviderId(user.provider, user.profile.providerId);
    if (existing && existing.authorId !== authorId) {
      throw new OAuthFailure('account_in_use', `linked to author ${existing.authorId}`);
    }
    if (!existing) await this.linkAccount(authorId, user);
    await this.keepTokens(authorId, user);
    await this.audit.record('oauth_linked', {
      authorId,
      client,
      data: { provider: user.provider },
    });
  }

  private async linkAccount(authorId: number, user: ProviderUser): Promise<void> {
    try {
      await this.accounts.link(authorId, accountOf(user));
    } catch (error) {
      if (!(error instanceof DuplicateKeyError)) throw error;
      throw new OAuthFailure(
        error.constraint === OAUTH_AUTHOR_PROVIDER_UNIQUE
          ? 'provider_already_linked'
          : 'account_in_use',
      );
    }
  }

  private async keepTokens(authorId: number, user: ProviderUser): Promise<void> {
    if (user.tokens) await this.oauthTokens.storeTokens(authorId, user.provider, user.tokens);
  }
}

function accountOf({ provider, profile }: ProviderUser): NewOAuthAccount {
  return {
    provider,
    providerId: profile.providerId,
    providerEmail: profile.email,
    providerData: { name: profile.name, pic: profile.pic, email_verified: profile.emailVerified },
  };
}
