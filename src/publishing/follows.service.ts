import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import type { Author } from '../infra/database/tables/author.entity';
import { DomainEvents } from '../events/domain-events.service';
import { fetchPage, type Page, type PageArgs } from '../graphql/pagination';
import { nowSeconds } from '../infra/database/tables/epoch-seconds.transformer';
import { AuthorRepository } from '../infra/database/tables/author.repository';
import { FollowerRepository } from '../infra/database/tables/follower.repository';

/** Following authors. Both directions are idempotent; only a real change raises an event. */
@Injectable()
export class FollowsService {
  constructor(
    private readonly followers: FollowerRepository,
    private readonly authors: AuthorRepository,
    private readonly events: DomainEvents,
  ) {}

  async follow(followerId: number, authorId: number): Promise<void> {
    if (followerId === authorId) throw new BadRequestException('You cannot follow yourself');
    await this.existing(authorId);
    const createdAt = await this.followers.follow(followerId, authorId, nowSeconds());
    if (createdAt !== null) {
      this.events.emit('follower.created', { followerId, authorId, createdAt });
    }
  }

  async unfollow(followerId: number, authorId: number): Promise<void> {
    if (followerId === authorId) throw new BadRequestException('You cannot follow yourself');
    if (await this.followers.unfollow(followerId, authorId)) {
      this.events.emit('follower.deleted', { followerId, authorId });
    }
  }

  async followersOf(authorId: number, page: PageArgs): Promise<Page<Author>> {
    await this.existing(authorId);
    return fetchPage(
      page,
      (afterId, limit) => this.followers.followersOf(authorId, { afterId, limit }),
      (author) => author.id,
    );
  }

  private async existing(authorId: number): Promise<Author> {
    const author = await this.authors.findById(authorId);
    if (!author) throw new NotFoundException('Author not found');
    return author;
  }
}
