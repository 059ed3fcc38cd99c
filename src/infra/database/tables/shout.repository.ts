import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Shout } from './shout.entity';
import { nowSeconds } from './epoch-seconds.transformer';

export interface ShoutVisibility {
  /** The viewer, whose own unpublished shouts stay visible to them. */
  viewerId?: number;
  /** Moderators see every shout. */
  seesUnpublished: boolean;
}

@Injectable()
export class ShoutRepository {
  constructor(@InjectRepository(Shout) private readonly shouts: Repository<Shout>) {}

  create(authorId: number, title: string, body: string): Promise<Shout> {
    const now = nowSeconds();
    return this.shouts.save(
      this.shouts.create({ authorId, title, body, createdAt: now, publishedAt: now }),
    );
  }

  findById(id: number): Promise<Shout | null> {
    return this.shouts.findOneBy({ id });
  }

  /** Newest first, keyset-paginated by id; only what the viewer may see. */
  list(
    visibility: ShoutVisibility,
    options: { beforeId?: number; limit: number },
  ): Promise<Shout[]> {
    const query = this.shouts.createQueryBuilder('shout').orderBy('shout.id', 'DESC');
    if (!visibility.seesUnpublished) {
      query.andWhere('(shout.unpublished_at IS NULL OR shout.author_id = :viewerId)', {
        viewerId: visibility.viewerId ?? null,
      });
    }
    if (options.beforeId !== undefined) {
      query.andWhere('shout.id < :beforeId', { beforeId: options.beforeId });
    }
    return query.limit(options.limit).getMany();
  }

  /** Unpublishes once; the first moderator's reason is kept. Resolves with the shout as it now is. */
  async unpublish(id: number, moderatorId: number, reason: string): Promise<Shout | null> {
    await this.shouts
      .createQueryBuilder()
      .update(Shout)
      .set({ unpublishedAt: nowSeconds(), unpublishedBy: moderatorId, unpublishReason: reason })
      .where('id = :id AND unpublished_at IS NULL', { id })
      .execute();
    return this.findById(id);
  }
}
