import {
  Column,
  Entity,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  Unique,
  type Relation,
} from 'typeorm';
import { Author } from './author.entity';
import { epochSeconds } from './epoch-seconds.transformer';

/** An OAuth identity linked to an author; one per provider and author. */
@Entity('oauth_account')
@Unique('oauth_account_provider_id_unique', ['provider', 'providerId'])
@Unique('oauth_account_author_provider_unique', ['authorId', 'provider'])
export class OAuthAccount {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ name: 'author_id', type: 'integer' })
  authorId: number;

  /** Lower-case provider name, e.g. `github`. */
  @Column({ type: 'text' })
  provider: string;

  @Column({ name: 'provider_id', type: 'text' })
  providerId: string;

  @Column({ name: 'provider_email', type: 'text', nullable: true })
  providerEmail: string | null;

  @Column({ name: 'provider_data', type: 'jsonb', default: {} })
  providerData: Record<string, unknown>;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochSeconds })
  createdAt: number;

  @ManyToOne(() => Author, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'author_id', foreignKeyConstraintName: 'oauth_account_author_id_fkey' })
  author?: Relation<Author>;
}
