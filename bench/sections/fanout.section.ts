import { graphql, inParallel } from '../support/bench-users';
import type { BenchContext } from '../support/context';
import { nowMs } from '../support/latency';
import { type Row } from '../support/results';
import { SseLoad } from '../support/sse-load';
import { OPEN_IN_FLIGHT } from './sse.section';

const SECTION = 'fan-out';

/**
 * A shout by an author with F followers (10,000; 300 in quick mode): the createShout response
 * time, when the last follower's notification was published (seen by a Redis subscriber) and when
 * the last one reached a follower's open stream (streams are open for the first N followers).
 */
export async function fanoutSection(context: BenchContext): Promise<Row[]> {
  const followerCount = context.quick ? 300 : 10_000;
  const tessera = await context.tessera();
  const author = await context.newUser();
  const followers = await context.users(followerCount);
  const started = Date.now();
  await inParallel(followers.length, 16, (index) =>
    graphql(tessera.url, followers[index].token, 'mutation($a: Int!) { follow(authorId: $a) }', {
      a: author.id,
    }),
  );
  context.log(`${followerCount} follows in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const online = followers.slice(0, Math.min(context.streams, followerCount));
  const load = SseLoad.start();
  const { redisUrl, redisKeyPrefix, redis } = context.services;
  const subscriber = redis?.duplicate();
  try {
    const opened = await load.open(
      online.map((user) => ({
        url: `${tessera.url}/sse/notifications`,
        headers: { cookie: `session_token=${user.token}` },
      })),
      OPEN_IN_FLIGHT,
    );
    if (opened.failures.length) throw new Error(`${opened.failures.length} streams refused`);
    let published = 0;
    let lastPublishedAt = 0;
    if (subscriber) {
      await subscriber.psubscribe(`${redisKeyPrefix}shout:*`);
      subscriber.on('pmessage', () => {
        published++;
        lastPublishedAt = nowMs();
      });
    }
    const received = load.collect(online.length, 120_000, 'shout');
    const sentAt = nowMs();
    await graphql(
      tessera.url,
      author.token,
      'mutation($input: CreateShoutInput!) { createShout(input: $input) { id } }',
      { input: { title: 'Fan-out bench', body: 'One shout, every follower told.' } },
    );
    const responseMs = nowMs() - sentAt;
    const got = await received;
    const values: Record<string, number> = {
      followers: followerCount,
      responseMs,
      lastReceivedMs: got.lastAt - sentAt,
      receivedOf: got.latencies.length,
      openStreams: online.length,
    };
    if (redisUrl) {
      const deadline = Date.now() + 60_000;
      while (published < followerCount && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      values.published = published;
      values.lastPublishedMs = lastPublishedAt - sentAt;
    }
    await load.closeAll();
    return [
      {
        section: SECTION,
        name: `createShout by an author with ${followerCount} followers`,
        values,
      },
    ];
  } finally {
    load.stop();
    await subscriber?.quit();
  }
}
