import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { DataDirLock } from './data-dir.lock';

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
    private readonly lock: DataDirLock,
    readonly url: string,
  ) {}

  /** Refuses (DataDirInUseError) while another process has `dataDir` open. */
  static async start(dataDir: string): Promise<EmbeddedPostgres> {
    const directory = join(dataDir, 'pgdata');
    mkdirSync(directory, { recursive: true });
    const lock = DataDirLock.acquire(dataDir);
    let db: PGlite | undefined;
    try {
      db = await PGlite.create(directory);
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
        lock,
        `postgres://postgres@${server.getServerConn()}/postgres`,
      );
    } catch (error) {
      await db?.close();
      lock.release();
      throw error;
    }
  }

  async stop(): Promise<void> {
    try {
      await this.server.stop();
      await this.db.close();
    } finally {
      this.lock.release();
    }
  }
}
