import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { lockActiveAdmins } from './active-admins.lock';
import { Author } from './author.entity';
import { AuthorRole } from './author-role.entity';
import { translateDuplicates } from './duplicate-key.error';
import { OAuthAccount } from './oauth-account.entity';
import { PrimaryKeyLookup } from './primary-key.lookup';
import type { NewOAuthAccount } from './oauth-account.repository';
import { nowSeconds } from './epoch-seconds.transformer';

export interface NewAuthor {
  /** Normalized (src/auth/email-address.ts). */
  email: string;
  slug: string;
  name?: string | null;
  passwordHash?: string | null;
  emailVerified?: boolean;
  pic?: string | null;
}

export interface AuthorSearch {
  /** Matched case-insensitively against email, name and slug. */
  search?: string;
  role?: string;
  /** Only authors with a larger id (keyset pagination, oldest first). */
  afterId?: number;
  limit: number;
}

export type BanResult = 'banned' | 'already_banned' | 'last_admin' | 'not_found';

export type ProfileChanges = Partial<Pick<Author, 'name' | 'slug' | 'bio' | 'pic'>>;

/** Constraint names, for callers that turn a `DuplicateKeyError` into a message. */
export const AUTHOR_EMAIL_UNIQUE = 'author_email_unique';
export const AUTHOR_SLUG_UNIQUE = 'author_slug_unique';

@Injectable()
export class AuthorRepository {
  private readonly byId: PrimaryKeyLookup<Author>;

  constructor(@InjectRepository(Author) private readonly authors: Repository<Author>) {
    this.byId = new PrimaryKeyLookup(authors);
  }

  /**
   * Inserts an author, with `roleId` granted and `account` linked in the same transaction when
   * given: a failure leaves no author behind.
   */
  create(input: NewAuthor, roleId?: string, account?: NewOAuthAccount): Promise<Author> {
    const now = nowSeconds();
    return translateDuplicates(() =>
      this.authors.manager.transaction(async (manager) => {
        const saved = await manager.save(
          manager.create(Author, {
            email: input.email,
            slug: input.slug,
            name: input.name ?? null,
            passwordHash: input.passwordHash ?? null,
            emailVerified: input.emailVerified ?? false,
            pic: input.pic ?? null,
            createdAt: now,
            updatedAt: now,
          }),
        );
        if (roleId) {
          await manager.insert(AuthorRole, { authorId: saved.id, roleId, grantedAt: now });
        }
        if (account) {
          await manager.save(
            manager.create(OAuthAccount, { ...account, authorId: saved.id, createdAt: now }),
          );
        }
        delete saved.passwordHash;
        return saved;
      }),
    );
  }

  findById(id: number): Promise<Author | null> {
    return this.byId.find(id);
  }

  /** Which of these ids are authors (one query). */
  async existingIds(ids: readonly number[]): Promise<Set<number>> {
    if (ids.length === 0) return new Set();
    const rows = await this.authors
      .createQueryBuilder('author')
      .select('author.id', 'id')
      .where('author.id = ANY(:ids)', { ids: [...new Set(ids)] })
      .getRawMany<{ id: number }>();
    return new Set(rows.map((row) => Number(row.id)));
  }

  /**
   * By exact equality: emails are stored normalized and `email` must be normalized the same way
   * (src/auth/email-address.ts). No case folding here: Postgres `lower()` folds some code points
   * differently from the normalization, and that difference let limits and lookups disagree.
   */
  findByEmail(email: string): Promise<Author | null> {
    return this.authors.findOneBy({ email });
  }

  /** As `findByEmail`, with `passwordHash` loaded (it is left out of every other read). */
  findByEmailWithPassword(email: string): Promise<Author | null> {
    return this.authors
      .createQueryBuilder('author')
      .addSelect('author.passwordHash')
      .where('author.email = :email', { email })
      .getOne();
  }

  findByIdWithPassword(id: number): Promise<Author | null> {
    return this.authors
      .createQueryBuilder('author')
      .addSelect('author.passwordHash')
      .where('author.id = :id', { id })
      .getOne();
  }

  async slugExists(slug: string): Promise<boolean> {
    return this.authors.existsBy({ slug });
  }

  /** Applies profile changes; resolves with the updated author, or null when it does not exist. */
  async updateProfile(id: number, changes: ProfileChanges): Promise<Author | null> {
    // Only the fields given: an input object may carry the others as `undefined`.
    const given = Object.fromEntries(
      Object.entries(changes).filter(([, value]) => value !== undefined),
    );
    if (Object.keys(given).length > 0) {
      await translateDuplicates(() =>
        this.authors.update({ id }, { ...given, updatedAt: nowSeconds() }),
      );
    }
    return this.findById(id);
  }

  async setPasswordHash(id: number, passwordHash: string): Promise<void> {
    await this.authors.update({ id }, { passwordHash, updatedAt: nowSeconds() });
  }

  async markEmailVerified(id: number): Promise<void> {
    await this.authors.update({ id }, { emailVerified: true, updatedAt: nowSeconds() });
  }

  async setVerifiedPhone(id: number, phone: string): Promise<void> {
    await this.authors.update({ id }, { phone, phoneVerified: true, updatedAt: nowSeconds() });
  }

  /** Sets `banned_at`, refusing to ban the last active admin (under the lock that role removal takes). */
  ban(id: number): Promise<BanResult> {
    return this.authors.manager.transaction(async (manager) => {
      const admins = await lockActiveAdmins(manager);
      if (admins.length === 1 && admins[0] === id) return 'last_admin';
      const author = await manager.findOneBy(Author, { id });
      if (!author) return 'not_found';
      if (author.bannedAt !== null) return 'already_banned';
      await manager.update(Author, { id }, { bannedAt: nowSeconds() });
      return 'banned';
    });
  }

  /** Clears `banned_at`; false when the author was not banned. */
  async unban(id: number): Promise<boolean> {
    const result = await this.authors
      .createQueryBuilder()
      .update(Author)
      .set({ bannedAt: null, updatedAt: nowSeconds() })
      .where('id = :id AND banned_at IS NOT NULL', { id })
      .execute();
    return (result.affected ?? 0) > 0;
  }

  search(filter: AuthorSearch): Promise<Author[]> {
    const query = this.authors.createQueryBuilder('author').orderBy('author.id', 'ASC');
    if (filter.search) {
      const pattern = `%${filter.search.replace(/[\\%_]/g, '\\$&')}%`;
      query.andWhere(
        '(author.email ILIKE :pattern OR author.name ILIKE :pattern OR author.slug ILIKE :pattern)',
        { pattern },
      );
    }
    if (filter.role) {
      query.andWhere(
        'EXISTS (SELECT 1 FROM author_role ar WHERE ar.author_id = author.id AND ar.role_id = :role)',
        { role: filter.role },
      );
    }
    if (filter.afterId !== undefined)
      query.andWhere('author.id > :afterId', { afterId: filter.afterId });
    return query.limit(filter.limit).getMany();
  }

  findBySlug(slug: string): Promise<Author | null> {
    return this.authors.findOneBy({ slug });
  }

  async touchLastSeen(id: number): Promise<void> {
    await this.authors.update({ id }, { lastSeen: nowSeconds() });
  }
}
