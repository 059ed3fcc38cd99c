import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Linked OAuth accounts and the audit log (README, "Endpoints so far"). */
export class AuthAccounts1764000000000 implements MigrationInterface {
  name = 'AuthAccounts1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE oauth_account (
        id serial PRIMARY KEY,
        author_id integer NOT NULL,
        provider text NOT NULL,
        provider_id text NOT NULL,
        provider_email text,
        provider_data jsonb NOT NULL DEFAULT '{}',
        created_at bigint NOT NULL,
        CONSTRAINT oauth_account_provider_id_unique UNIQUE (provider, provider_id),
        CONSTRAINT oauth_account_author_provider_unique UNIQUE (author_id, provider),
        CONSTRAINT oauth_account_author_id_fkey FOREIGN KEY (author_id)
          REFERENCES author (id) ON DELETE CASCADE
      )`);
    await queryRunner.query(`
      CREATE TABLE audit_event (
        id bigserial PRIMARY KEY,
        author_id integer,
        type text NOT NULL,
        ip text,
        user_agent text,
        data jsonb NOT NULL DEFAULT '{}',
        created_at bigint NOT NULL,
        CONSTRAINT audit_event_author_id_fkey FOREIGN KEY (author_id)
          REFERENCES author (id) ON DELETE SET NULL
      )`);
    await queryRunner.query(`CREATE INDEX audit_event_author_idx ON audit_event (author_id, id)`);
    await queryRunner.query(`CREATE INDEX audit_event_type_idx ON audit_event (type, id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE audit_event`);
    await queryRunner.query(`DROP TABLE oauth_account`);
  }
}
