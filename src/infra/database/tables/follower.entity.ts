import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import { Author } from './author.entity';
import { epochSeconds } from './epoch-seconds.transformer';

/** `followerId` follows `authorId`; one row per pair. */
@Entity('follower')
@Index('follower_author_idx', ['authorId', 'followerId'])
@Check('follower_not_self', `"follower_id" <> "author_id"`)
export class Follower {
  @PrimaryColumn({
    name: 'follower_id',
    type: 'integer',
    primaryKeyConstraintName: 'follower_pkey',
  })
  followerId: number;

  @PrimaryColumn({ name: 'author_id', type: 'integer', primaryKeyConstraintName: 'follower_pkey' })
  authorId: number;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochSeconds })
  createdAt: number;

  @ManyToOne(() => Author, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'follower_id', foreignKeyConstraintName: 'follower_follower_id_fkey' })
  follower?: Relation<Author>;

  @ManyToOne(() => Author, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'author_id', foreignKeyConstraintName: 'follower_author_id_fkey' })
  author?: Relation<Author>;
}
