import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The small publishing domain the permissions protect: shouts and followers. */
export class Publishing1764100000000 implements MigrationInterface {
  name = 'Publishing1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE shout (
        id serial PRIMARY KEY,
        author_id integer NOT NULL,
        title text NOT NULL,
        body text NOT NULL,
        created_at bigint NOT NULL,
        published_at bigint,
        unpublished_at bigint,
        unpublished_by integer,
        unpublish_reason text,
        CONSTRAINT shout_author_id_fkey FOREIGN KEY (author_id)
          REFERENCES author (id) ON DELETE CASCADE,
        CONSTRAINT shout_unpublished_by_fkey FOREIGN KEY (unpublished_by)
          REFERENCES author (id) ON DELETE SET NULL
      )`);
    await queryRunner.query(`CREATE INDEX shout_author_idx ON shout (author_id, id)`);
    await queryRunner.query(`
      CREATE TABLE follower (
        follower_id integer NOT NULL,
        author_id integer NOT NULL,
        created_at bigint NOT NULL,
        CONSTRAINT follower_pkey PRIMARY KEY (follower_id, author_id),
        CONSTRAINT follower_follower_id_fkey FOREIGN KEY (follower_id)
          REFERENCES author (id) ON DELETE CASCADE,
        CONSTRAINT follower_author_id_fkey FOREIGN KEY (author_id)
          REFERENCES author (id) ON DELETE CASCADE,
        CONSTRAINT follower_not_self CHECK (follower_id <> author_id)
      )`);
    await queryRunner.query(
      `CREATE INDEX follower_author_idx ON follower (author_id, follower_id)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE follower`);
    await queryRunner.query(`DROP TABLE shout`);
  }
}
