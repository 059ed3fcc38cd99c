import type { AppConfig } from '../config/app-config';
import { MemoryStore } from '../infra/redis/memory.store';
import { MetricsService } from '../metrics/metrics.service';
import type { FeedEntry, NotificationFeed } from '../notifications/notification-feed.service';
import { FeedFollowers } from './feed-follower.service';
import { StreamMetrics } from './stream-metrics.service';

const USER = 7;
const CHANNEL = `notifications:${USER}`;

/** A stored notification in the wire form the store publishes. */
const wire = (id: number) =>
  JSON.stringify({
    id,
    type: 'notifications',
    action: 'create',
    entity: 'x',
    payload: {},
    created_at: 1,
  });

/**
 * The feed over an in-memory table. `hold()` makes the next read wait until released, to put live
 * messages in the middle of a catch-up.
 */
class FakeFeed {
  readonly stored: number[] = [];
  private gate?: Promise<void>;
  private open?: () => void;

  channelsOf(userId: number) {
    return [`notifications:${userId}`];
  }

  hold(): () => void {
    this.gate = new Promise((resolve) => (this.open = resolve));
    return () => this.open?.();
  }

  async after(_userId: number, afterId: number, limit: number): Promise<FeedEntry[]> {
    const gate = this.gate;
    this.gate = undefined;
    await gate;
    return this.stored
      .filter((id) => id > afterId)
      .slice(0, limit)
      .map((id) => ({ id, data: wire(id) }));
  }
}

describe('FeedFollowers', () => {
  let store: MemoryStore;
  let feed: FakeFeed;
  let followers: FeedFollowers;
  const delivered: (number | string)[] = [];
  const sink = (raw: string, id: number | undefined) => delivered.push(id ?? raw);
  /** Publishes and lets the store deliver it (delivery is always asynchronous). */
  const publish = async (raw: string) => {
    await store.publish(CHANNEL, raw);
    await new Promise((resolve) => setImmediate(resolve));
  };

  beforeEach(() => {
    store = new MemoryStore({});
    feed = new FakeFeed();
    const config = { sse: { replayLimit: 500 } } as AppConfig;
    const metrics = new StreamMetrics(new MetricsService());
    followers = new FeedFollowers(store, feed as unknown as NotificationFeed, metrics, config);
    delivered.length = 0;
  });
  afterEach(() => store.close());

  it('replays what was stored after the position, then live ones, each id once', async () => {
    feed.stored.push(1, 2, 3);
    const follower = followers.follow(USER, 1, sink);
    await follower.started;
    feed.stored.push(4);
    await publish(wire(4));
    await publish(wire(3));
    await publish('{"type":"ping-from-elsewhere"}');
    expect(delivered).toEqual([2, 3, 4, '{"type":"ping-from-elsewhere"}']);
    expect(follower.position).toBe(4);
    follower.stop();
  });

  it('holds live notifications behind a catch-up, so none moves the position past a missed one', async () => {
    const follower = followers.follow(USER, 0, sink);
    await follower.started;
    // An outage: 5 and 6 were stored but never published here; 7 arrives live during the replay.
    feed.stored.push(5, 6, 7);
    const release = feed.hold();
    const caughtUp = follower.catchUp();
    await publish(wire(7));
    expect(delivered).toEqual([]);
    release();
    await caughtUp;
    expect(delivered).toEqual([5, 6, 7]);
  });

  it('delivers the held live ones even when the catch-up fails, and then rejects', async () => {
    const follower = followers.follow(USER, 0, sink);
    await follower.started;
    feed.after = () => Promise.reject(new Error('database down'));
    const caughtUp = follower.catchUp();
    await publish(wire(9));
    await expect(caughtUp).rejects.toThrow('database down');
    expect(delivered).toEqual([9]);
  });

  it('drops messages that are not JSON, and delivers nothing once stopped', async () => {
    const follower = followers.follow(USER, 0, sink);
    await follower.started;
    await publish('not json');
    follower.stop();
    await publish(wire(1));
    expect(delivered).toEqual([]);
    expect(store.subscribedChannels()).toEqual([]);
  });
});
