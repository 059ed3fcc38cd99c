import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { OAuthAccount } from './oauth-account.entity';

@Injectable()
export class OAuthAccountRepository {
  constructor(
    @InjectRepository(OAuthAccount) private readonly accounts: Repository<OAuthAccount>,
  ) {}

  listForAuthor(authorId: number): Promise<OAuthAccount[]> {
    return this.accounts.find({ where: { authorId }, order: { provider: 'ASC' } });
  }

  /** Removes the author's link to `provider`; true when there was one. */
  async unlink(authorId: number, provider: string): Promise<boolean> {
    const result = await this.accounts.delete({ authorId, provider });
    return (result.affected ?? 0) > 0;
  }
}
