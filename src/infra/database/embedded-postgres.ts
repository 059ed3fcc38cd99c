import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/** More than the TypeORM pool size, or the pool's extra connections would be turned away. */
const MAX_SOCKET_CONNECTIONS = 24;
/**
 * One connection: pglite-socket funnels every connection into one PGlite session, and concurrent
 * extended-protocol exchanges on several connections interleave there ("unnamed prepared statement
 * does not exist"). With one, the pool queues queries; code inside a transaction must use that
 * transaction's manager (it does), or it would wait for itself.
 */
export const EMBEDDED_POOL_SIZE = 1;

/**
 * A real Postgres (PGlite, compiled to WASM) persisted under DATA_DIR/pgdata and served on a
 * loopback port, so that TypeORM's ordinary `pg` driver talks to it exactly as it would to a server.
 */
export class EmbeddedPostgres {
  private constructor(
    private readonly db: PGlite,
    private readonly server: PGLiteSocketServer,
    readonly url: string,
  ) {}

  static async start(dataDir: string): Promise<EmbeddedPostgres> {
    const directory = join(dataDir, 'pgdata');
    mkdirSync(directory, { recursive: true });
    const db = await PGlite.create(directory);
    const server = new PGLiteSocketServer({
      db,
      host: '127.0.0.1',
      port: 0,
      maxConnections: MAX_SOCKET_CONNECTIONS,
    });
    await server.start();
    return new EmbeddedPostgres(
      db,
      server,
      `postgres://postgres@${server.getServerConn()}/postgres`,
    );
  }

  async stop(): Promise<void> {
    await this.server.stop();
    await this.db.close();
  }
}
