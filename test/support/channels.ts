import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REDIS_STORE, type RedisStore } from '../../src/infra/redis/redis-store';
import { SERVICES, type TestApp } from './test-app';
import { waitFor } from './wait-for';

const execFileAsync = promisify(execFile);

/**
 * Waits until the app listens on the user's three channels. A stream's `connected` event (and a
 * socket's `connection_ack`) come before it has subscribed, so a test that publishes right after
 * would race the SUBSCRIBE round trips. On the real server the check is
 * Redis's own count of subscribers.
 */
export async function channelsReady(t: TestApp, userId: number): Promise<void> {
  const channels = ['notifications', 'follower', 'shout'].map((type) => `${type}:${userId}`);
  if (!SERVICES.redisUrl) {
    const store = t.app.get<RedisStore>(REDIS_STORE);
    await waitFor(() => channels.every((c) => store.subscribedChannels().includes(c)), {
      message: 'channels subscribed',
    });
    return;
  }
  const prefixed = channels.map((channel) => `${t.config.redis.keyPrefix}${channel}`);
  await waitFor(
    async () => {
      const { stdout } = await execFileAsync('redis-cli', [
        '-u',
        SERVICES.redisUrl!,
        'PUBSUB',
        'NUMSUB',
        ...prefixed,
      ]);
      // Channel and count, alternating.
      const counts = stdout
        .trim()
        .split('\n')
        .filter((_, i) => i % 2 === 1);
      return counts.length === channels.length && counts.every((count) => Number(count) >= 1);
    },
    { message: 'channels subscribed on Redis' },
  );
}
