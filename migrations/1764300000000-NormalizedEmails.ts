import type { MigrationInterface, QueryRunner } from 'typeorm';
import { normalizeEmail } from '../src/auth/email-address';

const BATCH = 1000;

/**
 * Emails stored normalized (src/auth/email-address.ts) and unique by plain equality. The index on
 * lower(email) made Postgres fold case its own way, while the rate limits folded it JavaScript's
 * way: `İ` and a few others meant one account to the lookup and another to the limits. The rewrite
 * is done here in JavaScript, with the very function every input goes through.
 */
export class NormalizedEmails1764300000000 implements MigrationInterface {
  name = 'NormalizedEmails1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX author_email_lower_unique`);
    let afterId = 0;
    let rows: { id: number; email: string }[];
    do {
      rows = await queryRunner.query(
        `SELECT id, email FROM author WHERE id > $1 ORDER BY id LIMIT ${BATCH}`,
        [afterId],
      );
      afterId = rows.at(-1)?.id ?? afterId;
      const changed = rows
        .map((row) => ({ id: row.id, email: normalizeEmail(row.email) }))
        .filter((row, i) => row.email !== rows[i].email);
      if (changed.length > 0) {
        await queryRunner.query(
          `UPDATE author SET email = changed.email
             FROM unnest($1::int[], $2::text[]) AS changed (id, email)
            WHERE author.id = changed.id`,
          [changed.map((row) => row.id), changed.map((row) => row.email)],
        );
      }
    } while (rows.length === BATCH);
    const collisions: { ids: number[] }[] = await queryRunner.query(
      `SELECT array_agg(id ORDER BY id) AS ids FROM author
        GROUP BY email HAVING count(*) > 1 ORDER BY min(id) LIMIT 20`,
    );
    if (collisions.length > 0) {
      // Ids only: the message ends up in logs, the addresses are personal data.
      const groups = collisions.map(({ ids }) => ids.join(' and ')).join('; ');
      throw new Error(
        `Cannot make emails unique: these authors have the same email once normalized (trimmed, ` +
          `NFC, lower case): ${groups}. Change or merge all but one of each group, then start ` +
          `again; nothing was changed.`,
      );
    }
    await queryRunner.query(`CREATE UNIQUE INDEX author_email_unique ON author (email)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // The emails stay normalized: their original spelling is gone.
    await queryRunner.query(`DROP INDEX author_email_unique`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX author_email_lower_unique ON author (lower(email))`,
    );
  }
}
