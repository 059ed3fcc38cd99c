import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import { Author } from './author.entity';
import { epochSeconds } from './epoch-seconds.transformer';

/**
 * The audit event types. `session_reuse_detected`: a session token that refresh had rotated away
 * was presented again, and the sessions that replaced it were revoked (suspected theft).
 */
export const AUDIT_EVENT_TYPES = [
  'register',
  'login_success',
  'login_failure',
  'logout',
  'session_revoked',
  'session_reuse_detected',
  'password_changed',
  'password_reset_requested',
  'password_reset',
  'email_verified',
  'phone_verified',
  'oauth_login',
  'oauth_linked',
  'oauth_unlinked',
  'oauth_failure',
  'role_granted',
  'role_revoked',
  'author_banned',
  'author_unbanned',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

@Entity('audit_event')
@Index('audit_event_author_idx', ['authorId', 'id'])
@Index('audit_event_type_idx', ['type', 'id'])
export class AuditEvent {
  /** bigserial: pg returns it as a string, kept so to stay exact. */
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'author_id', type: 'integer', nullable: true })
  authorId: number | null;

  @Column({ type: 'text' })
  type: AuditEventType;

  @Column({ type: 'text', nullable: true })
  ip: string | null;

  @Column({ name: 'user_agent', type: 'text', nullable: true })
  userAgent: string | null;

  @Column({ type: 'jsonb', default: {} })
  data: Record<string, unknown>;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochSeconds })
  createdAt: number;

  @ManyToOne(() => Author, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'author_id', foreignKeyConstraintName: 'audit_event_author_id_fkey' })
  author?: Relation<Author> | null;
}
