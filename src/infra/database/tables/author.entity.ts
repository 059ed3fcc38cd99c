import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { epochSeconds } from './epoch-seconds.transformer';

@Entity('author')
export class Author {
  @PrimaryGeneratedColumn()
  id: number;

  /** Stored normalized (src/auth/email-address.ts), so unique by plain equality. */
  @Index('author_email_unique', { unique: true })
  @Column({ type: 'text' })
  email: string;

  @Column({ type: 'text', nullable: true })
  name: string | null;

  @Column({ type: 'text', unique: true })
  slug: string;

  @Column({ name: 'password_hash', type: 'text', nullable: true, select: false })
  passwordHash?: string | null;

  @Column({ type: 'text', nullable: true })
  pic: string | null;

  @Column({ type: 'text', nullable: true })
  bio: string | null;

  @Column({ name: 'email_verified', type: 'boolean', default: false })
  emailVerified: boolean;

  @Column({ type: 'text', nullable: true })
  phone: string | null;

  @Column({ name: 'phone_verified', type: 'boolean', default: false })
  phoneVerified: boolean;

  @Column({ name: 'banned_at', type: 'bigint', nullable: true, transformer: epochSeconds })
  bannedAt: number | null;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochSeconds })
  createdAt: number;

  @Column({ name: 'updated_at', type: 'bigint', transformer: epochSeconds })
  updatedAt: number;

  @Column({ name: 'last_seen', type: 'bigint', nullable: true, transformer: epochSeconds })
  lastSeen: number | null;
}
