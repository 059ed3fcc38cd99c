import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { AuthorRepository } from '../infra/database/tables/author.repository';
import { OAuthAccountRepository } from '../infra/database/tables/oauth-account.repository';
import { OAuthTokenManager } from '../tokens/oauth-token.service';
import type { ClientInfo } from '../infra/http/client-info.decorator';

export interface LinkedAccountView {
  provider: string;
  providerId: string;
  providerEmail: string | null;
  linkedAt: number;
}

/** The OAuth identities linked to an author, and unlinking one that is not their last way in. */
@Injectable()
export class LinkedAccountsService {
  constructor(
    private readonly accounts: OAuthAccountRepository,
    private readonly authors: AuthorRepository,
    private readonly oauthTokens: OAuthTokenManager,
    private readonly audit: AuditService,
  ) {}

  async list(authorId: number): Promise<LinkedAccountView[]> {
    const accounts = await this.accounts.listForAuthor(authorId);
    return accounts.map((account) => ({
      provider: account.provider,
      providerId: account.providerId,
      providerEmail: account.providerEmail,
      linkedAt: account.createdAt,
    }));
  }

  async unlink(authorId: number, provider: string, client: ClientInfo): Promise<void> {
    const [accounts, author] = await Promise.all([
      this.accounts.listForAuthor(authorId),
      this.authors.findByIdWithPassword(authorId),
    ]);
    if (!accounts.some((account) => account.provider === provider)) {
      throw new NotFoundException(`No ${provider} account is linked`);
    }
    if (!author?.passwordHash && accounts.length === 1) {
      throw new ConflictException(
        'This is your only way to sign in; set a password or link another account first',
      );
    }
    await this.accounts.unlink(authorId, provider);
    await this.oauthTokens.deleteTokens(authorId, provider);
    await this.audit.record('oauth_unlinked', { authorId, client, data: { provider } });
  }
}
