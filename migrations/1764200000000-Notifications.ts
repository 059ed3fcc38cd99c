import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Stored notifications (README, "Real-time notifications"): read over GraphQL, replayed to SSE on reconnect. */
export class Notifications1764200000000 implements MigrationInterface {
  name = 'Notifications1764200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE notification (
        id bigserial PRIMARY KEY,
        recipient_id integer NOT NULL,
        type text NOT NULL,
        action text NOT NULL,
        entity text NOT NULL,
        payload jsonb NOT NULL DEFAULT '{}',
        created_at bigint NOT NULL,
        seen_at bigint,
        CONSTRAINT notification_recipient_id_fkey FOREIGN KEY (recipient_id)
          REFERENCES author (id) ON DELETE CASCADE
      )`);
    // Serves every read: a recipient's list (newest first), its unseen count and the SSE replay.
    await queryRunner.query(
      `CREATE INDEX notification_recipient_idx ON notification (recipient_id, id)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE notification`);
  }
}
