import { createServer } from 'node:net';

/**
 * A free port below the ephemeral range (32768+): a spawned server starts its embedded Postgres on
 * an ephemeral port, which could otherwise be handed the number this check just released.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const attempt = () => {
      const port = 20000 + Math.floor(Math.random() * 10000);
      const server = createServer()
        .once('error', attempt)
        .listen(port, () => server.close(() => resolve(port)));
    };
    attempt();
  });
}
