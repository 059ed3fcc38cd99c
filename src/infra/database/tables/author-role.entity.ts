import {
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  type Relation,
} from 'typeorm';
import { Author } from './author.entity';
import { epochSeconds } from './epoch-seconds.transformer';
import { Role } from './role.entity';

@Entity('author_role')
export class AuthorRole {
  @PrimaryColumn({ name: 'author_id', type: 'integer' })
  authorId: number;

  @Index('author_role_role_idx')
  @PrimaryColumn({ name: 'role_id', type: 'text' })
  roleId: string;

  @Column({ name: 'granted_at', type: 'bigint', transformer: epochSeconds })
  grantedAt: number;

  @Column({ name: 'granted_by', type: 'integer', nullable: true })
  grantedBy: number | null;

  @ManyToOne(() => Author, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'author_id', foreignKeyConstraintName: 'author_role_author_id_fkey' })
  author?: Relation<Author>;

  @ManyToOne(() => Role, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'role_id', foreignKeyConstraintName: 'author_role_role_id_fkey' })
  role?: Relation<Role>;

  @ManyToOne(() => Author, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'granted_by', foreignKeyConstraintName: 'author_role_granted_by_fkey' })
  grantor?: Relation<Author> | null;
}
