import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import { Author } from './author.entity';
import { epochSeconds } from './epoch-seconds.transformer';

/** One notification to one author (seed format, README "Real-time notifications"). */
@Entity('notification')
@Index('notification_recipient_idx', ['recipientId', 'id'])
export class Notification {
  /** bigserial: pg returns it as a string, kept so to stay exact. */
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'recipient_id', type: 'integer' })
  recipientId: number;

  /** `follower`, `shout`, or any other kind (published on `notifications:{id}`). */
  @Column({ type: 'text' })
  type: string;

  @Column({ type: 'text' })
  action: string;

  @Column({ type: 'text' })
  entity: string;

  @Column({ type: 'jsonb', default: {} })
  payload: Record<string, unknown>;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochSeconds })
  createdAt: number;

  @Column({ name: 'seen_at', type: 'bigint', nullable: true, transformer: epochSeconds })
  seenAt: number | null;

  @ManyToOne(() => Author, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'recipient_id', foreignKeyConstraintName: 'notification_recipient_id_fkey' })
  recipient?: Relation<Author>;
}
