import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { translateDuplicates } from './duplicate-key.error';
import { nowSeconds } from './epoch-seconds.transformer';
import { OAuthAccount } from './oauth-account.entity';

/** A provider identity to link to an author. */
export interface NewOAuthAccount {
  provider: string;
  providerId: string;
  providerEmail: string | null;
  providerData: Record<string, unknown>;
}

/** Constraint names, for callers that turn a `DuplicateKeyError` into an answer. */
export const OAUTH_PROVIDER_ID_UNIQUE = 'oauth_account_provider_id_unique';
export const OAUTH_AUTHOR_PROVIDER_UNIQUE = 'oauth_account_author_provider_unique';

@Injectable()
export class OAuthAccountRepository {
  constructor(
    @InjectRepository(OAuthAccount) private readonly accounts: Repository<OAuthAccount>,
  ) {}

  findByProviderId(provider: string, providerId: string): Promise<OAuthAccount | null> {
    return this.accounts.findOneBy({ provider, providerId });
  }

  /** Links an identity; a `DuplicateKeyError` names the constraint when it is taken. */
  async link(authorId: number, account: NewOAuthAccount): Promise<void> {
    await translateDuplicates(() =>
      this.accounts.save(this.accounts.create({ ...account, authorId, createdAt: nowSeconds() })),
    );
  }

  listForAuthor(authorId: number): Promise<OAuthAccount[]> {
    return this.accounts.find({ where: { authorId }, order: { provider: 'ASC' } });
  }

  /** Removes the author's link to `provider`; true when there was one. */
  async unlink(authorId: number, provider: string): Promise<boolean> {
    const result = await this.accounts.delete({ authorId, provider });
    return (result.affected ?? 0) > 0;
  }
}
