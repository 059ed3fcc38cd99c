import bcrypt from 'bcrypt';

/**
 * The login row's floor: bare bcrypt compares per second at the given cost, on libuv's thread pool
 * (as many in flight as the pool has threads), in a process of its own. Prints one JSON line.
 * Usage: node bcrypt-compares.js <cost> <seconds>
 */
async function main(): Promise<void> {
  const cost = Number(process.argv[2]);
  const seconds = Number(process.argv[3]);
  const hash = await bcrypt.hash('a bench password', cost);
  const inFlight = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  await Promise.all(
    Array.from({ length: inFlight }, () => bcrypt.compare('a bench password', hash)),
  );
  let done = 0;
  const until = Date.now() + seconds * 1000;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (Date.now() < until) {
        if (!(await bcrypt.compare('a bench password', hash))) throw new Error('compare failed');
        done++;
      }
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(`${JSON.stringify({ comparesPerS: done / elapsed, inFlight })}\n`);
}

void main();
