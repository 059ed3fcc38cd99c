import type Redis from 'ioredis';

/** Resolves once every channel has a subscriber (PUBSUB NUMSUB), so that nothing published is lost. */
export async function untilSubscribed(
  redis: Redis,
  channels: string[],
  deadlineMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  let waiting = channels;
  while (waiting.length > 0) {
    const still: string[] = [];
    for (let start = 0; start < waiting.length; start += 500) {
      const reply = (await redis.call(
        'PUBSUB',
        'NUMSUB',
        ...waiting.slice(start, start + 500),
      )) as (string | number)[];
      for (let i = 0; i < reply.length; i += 2)
        if (Number(reply[i + 1]) === 0) still.push(String(reply[i]));
    }
    waiting = still;
    if (waiting.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(`${waiting.length} channels still without a subscriber`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The event-loop delay p99 since the previous scrape (prom-client resets it on every scrape), ms. */
export async function eventLoopLagMs(baseUrl: string, metricsToken: string): Promise<number> {
  const response = await fetch(`${baseUrl}/metrics`, {
    headers: { authorization: `Bearer ${metricsToken}` },
  });
  const text = await response.text();
  const value = /^nodejs_eventloop_lag_p99_seconds (\S+)/m.exec(text);
  if (!value) throw new Error('no nodejs_eventloop_lag_p99_seconds in /metrics');
  return Number(value[1]) * 1000;
}
