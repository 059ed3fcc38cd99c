import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Author } from './author.entity';
import { Follower } from './follower.entity';

@Injectable()
export class FollowerRepository {
  constructor(@InjectRepository(Follower) private readonly followers: Repository<Follower>) {}

  /** Adds the pair; resolves with its creation time, or null when it already existed. */
  async follow(followerId: number, authorId: number, createdAt: number): Promise<number | null> {
    const inserted: unknown[] = await this.followers.query(
      `INSERT INTO follower (follower_id, author_id, created_at) VALUES ($1, $2, $3)
       ON CONFLICT DO NOTHING RETURNING follower_id`,
      [followerId, authorId, createdAt],
    );
    return inserted.length > 0 ? createdAt : null;
  }

  /** Removes the pair; false when there was none. */
  async unfollow(followerId: number, authorId: number): Promise<boolean> {
    const result = await this.followers.delete({ followerId, authorId });
    return (result.affected ?? 0) > 0;
  }

  /** The authors following `authorId`, by follower id, keyset-paginated. */
  followersOf(authorId: number, options: { afterId?: number; limit: number }): Promise<Author[]> {
    const query = this.followers.manager
      .createQueryBuilder(Author, 'author')
      .innerJoin(Follower, 'f', 'f.follower_id = author.id AND f.author_id = :authorId', {
        authorId,
      })
      .orderBy('author.id', 'ASC');
    if (options.afterId !== undefined) {
      query.andWhere('author.id > :afterId', { afterId: options.afterId });
    }
    return query.limit(options.limit).getMany();
  }

  /** Ids of every follower of an author, in batches (for fan-out). */
  async *followerIds(authorId: number, batchSize = 1000): AsyncIterable<number[]> {
    let afterId = 0;
    for (;;) {
      const rows: { follower_id: number }[] = await this.followers.query(
        `SELECT follower_id FROM follower WHERE author_id = $1 AND follower_id > $2
          ORDER BY follower_id LIMIT $3`,
        [authorId, afterId, batchSize],
      );
      if (rows.length === 0) return;
      const ids = rows.map((row) => Number(row.follower_id));
      yield ids;
      afterId = ids[ids.length - 1];
    }
  }

  async count(authorId: number): Promise<number> {
    return this.followers.countBy({ authorId });
  }
}
