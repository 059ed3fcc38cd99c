import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('permission')
export class Permission {
  /** The permission's name, e.g. `moderate`; used as its key everywhere. */
  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ type: 'text' })
  description: string;
}
