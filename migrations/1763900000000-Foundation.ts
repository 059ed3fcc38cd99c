import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Authors, roles and permissions, seeded with the roles of the README's "Roles and permissions". */
export class Foundation1763900000000 implements MigrationInterface {
  name = 'Foundation1763900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE author (
        id serial PRIMARY KEY,
        email text NOT NULL,
        name text,
        slug text NOT NULL,
        password_hash text,
        pic text,
        bio text,
        email_verified boolean NOT NULL DEFAULT false,
        phone text,
        phone_verified boolean NOT NULL DEFAULT false,
        banned_at bigint,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        last_seen bigint,
        CONSTRAINT author_slug_unique UNIQUE (slug)
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX author_email_lower_unique ON author (lower(email))`,
    );
    await queryRunner.query(`
      CREATE TABLE role (
        id text PRIMARY KEY,
        description text NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE permission (
        id text PRIMARY KEY,
        description text NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE role_permission (
        role_id text NOT NULL REFERENCES role (id) ON DELETE CASCADE ON UPDATE CASCADE,
        permission_id text NOT NULL REFERENCES permission (id) ON DELETE CASCADE ON UPDATE CASCADE,
        PRIMARY KEY (role_id, permission_id)
      )`);
    // Named as TypeORM names a many-to-many junction's indexes, so `migration:generate` sees no drift.
    await queryRunner.query(
      `CREATE INDEX "IDX_3d0a7155eafd75ddba5a701336" ON role_permission (role_id)`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_e3a3ba47b7ca00fd23be4ebd6c" ON role_permission (permission_id)`,
    );
    await queryRunner.query(`
      CREATE TABLE author_role (
        author_id integer NOT NULL REFERENCES author (id) ON DELETE CASCADE,
        role_id text NOT NULL REFERENCES role (id) ON DELETE CASCADE,
        granted_at bigint NOT NULL,
        granted_by integer REFERENCES author (id) ON DELETE SET NULL,
        PRIMARY KEY (author_id, role_id)
      )`);
    await queryRunner.query(`CREATE INDEX author_role_role_idx ON author_role (role_id)`);

    await queryRunner.query(`
      INSERT INTO permission (id, description) VALUES
        ('read', 'Read published content'),
        ('write', 'Create and edit own content'),
        ('moderate', 'Unpublish content of others'),
        ('admin', 'Manage authors, roles and sessions')`);
    await queryRunner.query(`
      INSERT INTO role (id, description) VALUES
        ('user', 'A signed-up reader or author'),
        ('moderator', 'A user who can moderate content'),
        ('admin', 'Full control')`);
    await queryRunner.query(`
      INSERT INTO role_permission (role_id, permission_id) VALUES
        ('user', 'read'), ('user', 'write'),
        ('moderator', 'read'), ('moderator', 'write'), ('moderator', 'moderate'),
        ('admin', 'read'), ('admin', 'write'), ('admin', 'moderate'), ('admin', 'admin')`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE author_role`);
    await queryRunner.query(`DROP TABLE role_permission`);
    await queryRunner.query(`DROP TABLE permission`);
    await queryRunner.query(`DROP TABLE role`);
    await queryRunner.query(`DROP TABLE author`);
  }
}
