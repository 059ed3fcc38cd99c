import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import { Author } from './author.entity';
import { epochSeconds } from './epoch-seconds.transformer';

/** A post. Visible to everyone while published; once unpublished only to its author and moderators. */
@Entity('shout')
@Index('shout_author_idx', ['authorId', 'id'])
export class Shout {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ name: 'author_id', type: 'integer' })
  authorId: number;

  @Column({ type: 'text' })
  title: string;

  @Column({ type: 'text' })
  body: string;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochSeconds })
  createdAt: number;

  @Column({ name: 'published_at', type: 'bigint', nullable: true, transformer: epochSeconds })
  publishedAt: number | null;

  @Column({ name: 'unpublished_at', type: 'bigint', nullable: true, transformer: epochSeconds })
  unpublishedAt: number | null;

  @Column({ name: 'unpublished_by', type: 'integer', nullable: true })
  unpublishedBy: number | null;

  @Column({ name: 'unpublish_reason', type: 'text', nullable: true })
  unpublishReason: string | null;

  @ManyToOne(() => Author, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'author_id', foreignKeyConstraintName: 'shout_author_id_fkey' })
  author?: Relation<Author>;

  @ManyToOne(() => Author, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'unpublished_by', foreignKeyConstraintName: 'shout_unpublished_by_fkey' })
  moderator?: Relation<Author> | null;
}
