import { type BenchUser, inParallel, registerUser } from './bench-users';
import { COLLECTABLE_NODE_ARGS } from './processes';
import type { BenchServices } from './services';
import { startTessera, type TesseraServer } from './tessera';

/** What every section gets: the run's settings, its services, and the shared Tessera instance. */
export interface BenchContext {
  quick: boolean;
  /** Seconds per HTTP measurement. */
  seconds: number;
  /** Streams for the SSE capacity and latency rows. */
  streams: number;
  services: BenchServices;
  /**
   * The run's main instance (BCRYPT_ROUNDS=4, so that thousands of bench authors register fast),
   * its garbage collectable for the RSS rows.
   */
  tessera: () => Promise<TesseraServer>;
  /** Another instance with the main one's settings, on the same services; the caller stops it. */
  newTessera: () => Promise<TesseraServer>;
  /** A new author, registered on the main instance through POST /auth/register. */
  newUser: () => Promise<BenchUser>;
  /** The first `count` of the run's pool of authors (registered as above when the pool is short). */
  users: (count: number) => Promise<BenchUser[]>;
  log: (line: string) => void;
  close: () => Promise<void>;
}

export function createContext(
  settings: { quick: boolean; seconds: number; streams: number },
  services: BenchServices,
): BenchContext {
  let main: Promise<TesseraServer> | undefined;
  const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
  const newTessera = () => startTessera(services, { BCRYPT_ROUNDS: '4' }, COLLECTABLE_NODE_ARGS);
  const tessera = () => (main ??= newTessera());
  const newUsers = async (count: number) => {
    const { url } = await tessera();
    const started = Date.now();
    const users = await inParallel(count, 16, () => registerUser(url));
    if (count > 100)
      log(`registered ${count} authors in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return users;
  };
  const pool: BenchUser[] = [];
  return {
    ...settings,
    services,
    tessera,
    newTessera,
    newUser: async () => (await newUsers(1))[0],
    users: async (count) => {
      if (pool.length < count) pool.push(...(await newUsers(count - pool.length)));
      return pool.slice(0, count);
    },
    log,
    close: async () => {
      if (main) await (await main).child.stop();
    },
  };
}
