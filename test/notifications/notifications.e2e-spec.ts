import { randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import { DataSource } from 'typeorm';
import {
  type NewNotification,
  NotificationRepository,
} from '../../src/infra/database/tables/notification.repository';
import { REDIS_STORE, type RedisStore, type Subscription } from '../../src/infra/redis/redis-store';
import { toWire } from '../../src/notifications/notification-channels';
import { NotifyService } from '../../src/notifications/notify.service';
import { registerAuthor, type SignedIn } from '../support/auth';
import { startTestApp, type TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';
import { dataOf, errorCode } from '../support/graphql';

// Issue #6, notifications: created from follows and shouts, stored, published on the user's Redis
// channels (README, "Real-time notifications"), read and marked seen over GraphQL.

const NOTIFICATION = 'id type action entity payload createdAt seenAt';
const NOTIFICATIONS = `query Notifications($first: Int, $after: String, $unseenOnly: Boolean) {
  notifications(first: $first, after: $after, unseenOnly: $unseenOnly) {
    nodes { ${NOTIFICATION} } pageInfo { endCursor hasNextPage } } }`;
const UNSEEN_COUNT = 'query { unseenNotificationsCount }';
const MARK_SEEN = 'mutation MarkSeen($ids: [ID!]!) { markNotificationsSeen(ids: $ids) }';
const MARK_ALL_SEEN = 'mutation { markAllNotificationsSeen }';
const FOLLOW = 'mutation Follow($authorId: Int!) { follow(authorId: $authorId) }';
const UNFOLLOW = 'mutation Unfollow($authorId: Int!) { unfollow(authorId: $authorId) }';
const CREATE_SHOUT = `mutation Create($input: CreateShoutInput!) {
  createShout(input: $input) { id authorId title } }`;

interface NotificationJson {
  id: string;
  type: string;
  action: string;
  entity: string;
  payload: string;
  createdAt: number;
  seenAt: number | null;
}

interface PageJson {
  nodes: NotificationJson[];
  pageInfo: { endCursor: string | null; hasNextPage: boolean };
}

function gql(t: TestApp, query: string, variables: Record<string, unknown> = {}, token?: string) {
  const req = t.http().post('/graphql').set('Content-Type', 'application/json');
  if (token !== undefined) req.set('Authorization', `Bearer ${token}`);
  return req.send({ query, variables });
}

/** What an SSE client would receive for a notification listed over GraphQL. */
function wireOf(node: NotificationJson) {
  return {
    id: Number(node.id),
    type: node.type,
    action: node.action,
    entity: node.entity,
    payload: JSON.parse(node.payload),
    created_at: node.createdAt,
  };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const unique = () => randomBytes(5).toString('hex');

describe('notifications', () => {
  let t: TestApp;
  const subscriptions: Subscription[] = [];

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterEach(async () => {
    await Promise.all(subscriptions.splice(0).map((subscription) => subscription.unsubscribe()));
  });
  afterAll(() => t.close());

  /** Collects what is published on a channel, as an SSE stream of this instance would see it. */
  async function listen(channel: string): Promise<string[]> {
    const messages: string[] = [];
    const store = t.app.get<RedisStore>(REDIS_STORE);
    subscriptions.push(await store.subscribe(channel, (message) => messages.push(message)));
    return messages;
  }

  async function page(
    token: string,
    variables: { first?: number; after?: string; unseenOnly?: boolean } = {},
  ): Promise<PageJson> {
    return dataOf(await gql(t, NOTIFICATIONS, variables, token)).notifications;
  }

  /** Every notification of the token's author, newest first (tests keep them under 100). */
  async function all(token: string, unseenOnly?: boolean): Promise<NotificationJson[]> {
    const result = await page(token, { first: 100, unseenOnly });
    expect(result.pageInfo.hasNextPage).toBe(false);
    return result.nodes;
  }

  /** Waits until the author has `count` notifications, and returns them newest first. */
  async function waitForNotifications(
    token: string,
    count: number,
    message: string,
  ): Promise<NotificationJson[]> {
    const nodes = await waitFor(
      async () => {
        const current = await all(token);
        return current.length >= count ? current : null;
      },
      { message },
    );
    expect(nodes).toHaveLength(count);
    // waitFor resolves with a truthy probe result only.
    return nodes as NotificationJson[];
  }

  async function unseenCount(token: string): Promise<number> {
    return dataOf(await gql(t, UNSEEN_COUNT, {}, token)).unseenNotificationsCount;
  }

  async function markSeen(token: string, ids: string[]): Promise<number> {
    return dataOf(await gql(t, MARK_SEEN, { ids }, token)).markNotificationsSeen;
  }

  async function follow(follower: SignedIn, author: SignedIn): Promise<void> {
    expect(dataOf(await gql(t, FOLLOW, { authorId: author.authorId }, follower.token)).follow).toBe(
      true,
    );
  }

  async function unfollow(follower: SignedIn, author: SignedIn): Promise<void> {
    const res = await gql(t, UNFOLLOW, { authorId: author.authorId }, follower.token);
    expect(dataOf(res).unfollow).toBe(true);
  }

  /** Stores and publishes `count` notifications for the author through the service, oldest first. */
  async function seed(authorId: number, count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const row = await t.app.get(NotifyService).notify(authorId, 'mention', 'create', 'comment', {
        comment_id: i,
      });
      ids.push(row.id);
    }
    return ids;
  }

  describe('on follow and unfollow', () => {
    it('notifies the followed author once, stored and published on follower:{id} in the seed format', async () => {
      const author = await registerAuthor(t);
      const name = `Follower ${unique()}`;
      const follower = await registerAuthor(t, 'bearer', { name });
      const inbox = await listen(`follower:${author.authorId}`);
      const before = nowSeconds();

      await follow(follower, author);

      const [notification] = await waitForNotifications(author.token!, 1, 'follow notification');
      expect(notification).toEqual({
        id: expect.stringMatching(/^\d+$/),
        type: 'follower',
        action: 'create',
        entity: 'follower',
        payload: expect.any(String),
        createdAt: expect.any(Number),
        seenAt: null,
      });
      expect(JSON.parse(notification.payload)).toEqual({
        follower_id: follower.authorId,
        follower_name: name,
        following_id: author.authorId,
      });
      expect(notification.createdAt).toBeGreaterThanOrEqual(before);
      expect(notification.createdAt).toBeLessThanOrEqual(nowSeconds());

      // Published after it was stored: the message carries the row's id and time.
      const message = await waitFor(() => inbox[0], { message: 'message on follower channel' });
      expect(JSON.parse(message)).toEqual(wireOf(notification));
      expect(inbox).toHaveLength(1);
      expect(await unseenCount(author.token!)).toBe(1);
      // The follower is not told about their own follow.
      expect(await all(follower.token!)).toEqual([]);
    });

    it('notifies with action delete on unfollow, and not again for a follow or unfollow that changes nothing', async () => {
      const author = await registerAuthor(t);
      const follower = await registerAuthor(t);
      const inbox = await listen(`follower:${author.authorId}`);

      await follow(follower, author);
      await waitForNotifications(author.token!, 1, 'follow notification');
      await follow(follower, author);
      await unfollow(follower, author);
      await unfollow(follower, author);
      await waitForNotifications(author.token!, 2, 'unfollow notification');
      // A last real change, so that anything the repeated calls caused would be there before it.
      await follow(follower, author);

      const nodes = await waitForNotifications(author.token!, 3, 'three notifications');
      expect(nodes.map((node) => node.action)).toEqual(['create', 'delete', 'create']);
      const deleted = nodes[1];
      expect(deleted).toMatchObject({ type: 'follower', entity: 'follower', seenAt: null });
      expect(JSON.parse(deleted.payload)).toEqual({
        follower_id: follower.authorId,
        follower_name: follower.body.author.name,
        following_id: author.authorId,
      });
      await waitFor(() => inbox.length >= 3, { message: 'three messages' });
      expect(inbox.map((message) => JSON.parse(message))).toEqual(nodes.reverse().map(wireOf));
    });

    it('names a follower who has no name by their slug', async () => {
      const author = await registerAuthor(t);
      const follower = await registerAuthor(t);
      const db = t.app.get(DataSource);
      await db.query(`UPDATE author SET name = NULL WHERE id = $1`, [follower.authorId]);
      const [{ slug }]: { slug: string }[] = await db.query(
        `SELECT slug FROM author WHERE id = $1`,
        [follower.authorId],
      );

      await follow(follower, author);

      const [notification] = await waitForNotifications(author.token!, 1, 'follow notification');
      expect(JSON.parse(notification.payload).follower_name).toBe(slug);
    });
  });

  describe('on a new shout', () => {
    it("notifies each of the author's followers once, on shout:{id}, and nobody else", async () => {
      const author = await registerAuthor(t, 'bearer', { name: `Author ${unique()}` });
      const followers = [await registerAuthor(t), await registerAuthor(t), await registerAuthor(t)];
      const former = await registerAuthor(t);
      const outsider = await registerAuthor(t);
      for (const follower of [...followers, former]) await follow(follower, author);
      await unfollow(former, author);
      await waitForNotifications(author.token!, 5, 'the follow notifications');
      const inboxes = await Promise.all(
        followers.map((follower) => listen(`shout:${follower.authorId}`)),
      );
      const otherInboxes = await Promise.all(
        [former, outsider, author].map((someone) => listen(`shout:${someone.authorId}`)),
      );
      const title = `Shout ${unique()}`;

      const res = await gql(t, CREATE_SHOUT, { input: { title, body: 'Hello' } }, author.token);
      const shout = dataOf(res).createShout;

      for (const [i, follower] of followers.entries()) {
        const [notification] = await waitForNotifications(follower.token!, 1, `follower ${i}`);
        expect(notification).toMatchObject({
          type: 'shout',
          action: 'create',
          entity: 'shout',
          seenAt: null,
        });
        expect(JSON.parse(notification.payload)).toEqual({
          shout_id: shout.id,
          title,
          author_id: author.authorId,
          author_name: author.body.author.name,
        });
        await waitFor(() => inboxes[i].length > 0, { message: `message to follower ${i}` });
        expect(inboxes[i].map((message) => JSON.parse(message))).toEqual([wireOf(notification)]);
      }
      const ids = new Set<string>();
      for (const follower of followers) (await all(follower.token!)).forEach((n) => ids.add(n.id));
      expect(ids.size).toBe(3);
      expect(await all(former.token!)).toEqual([]);
      expect(await all(outsider.token!)).toEqual([]);
      expect((await all(author.token!)).filter((node) => node.type === 'shout')).toEqual([]);
      expect(otherInboxes.flat()).toEqual([]);
    });
  });

  describe('notify', () => {
    it('stores any other type and publishes it on notifications:{id}', async () => {
      const user = await registerAuthor(t);
      const inbox = await listen(`notifications:${user.authorId}`);

      const row = await t.app
        .get(NotifyService)
        .notify(user.authorId, 'mention', 'create', 'comment', { comment_id: 7 });

      const message = await waitFor(() => inbox[0], {
        message: 'message on notifications channel',
      });
      expect(JSON.parse(message)).toEqual(toWire(row));
      const [listed] = await all(user.token!);
      expect(wireOf(listed)).toEqual({
        id: Number(row.id),
        type: 'mention',
        action: 'create',
        entity: 'comment',
        payload: { comment_id: 7 },
        created_at: row.createdAt,
      });
    });
  });

  describe('reading', () => {
    it('pages newest first with cursors, over the caller’s notifications only', async () => {
      const user = await registerAuthor(t);
      const other = await registerAuthor(t);
      const ids = await seed(user.authorId, 3);
      await seed(other.authorId, 1);
      ids.push(...(await seed(user.authorId, 2)));

      const first = await page(user.token!, { first: 2 });
      expect(first.nodes.map((node) => node.id)).toEqual([ids[4], ids[3]]);
      expect(first.pageInfo.hasNextPage).toBe(true);
      const second = await page(user.token!, { first: 2, after: first.pageInfo.endCursor! });
      expect(second.nodes.map((node) => node.id)).toEqual([ids[2], ids[1]]);
      expect(second.pageInfo.hasNextPage).toBe(true);
      const last = await page(user.token!, { first: 2, after: second.pageInfo.endCursor! });
      expect(last.nodes.map((node) => node.id)).toEqual([ids[0]]);
      expect(last.pageInfo.hasNextPage).toBe(false);
      // The default page holds them all.
      expect((await page(user.token!)).nodes.map((node) => node.id)).toEqual([...ids].reverse());
    });

    it.each([
      ['an after that is not a cursor', { after: 'not-a-cursor' }],
      ['first 0', { first: 0 }],
      ['first 101', { first: 101 }],
    ])('refuses %s with BAD_USER_INPUT', async (_label, variables) => {
      const user = await registerAuthor(t);
      expect(errorCode(await gql(t, NOTIFICATIONS, variables, user.token))).toBe('BAD_USER_INPUT');
    });

    it('replays a recipient’s stored notifications after an id, oldest first, up to a limit', async () => {
      const user = await registerAuthor(t);
      const other = await registerAuthor(t);
      const ids = await seed(user.authorId, 2);
      await seed(other.authorId, 1);
      ids.push(...(await seed(user.authorId, 3)));
      const repository = t.app.get(NotificationRepository);

      const replayed = await repository.after(user.authorId, ids[1], 2);
      expect(replayed.map((row) => row.id)).toEqual([ids[2], ids[3]]);
      expect((await repository.after(user.authorId, ids[0], 500)).map((row) => row.id)).toEqual(
        ids.slice(1),
      );
      expect(await repository.after(user.authorId, ids[4], 500)).toEqual([]);
    });
  });

  describe('marking seen', () => {
    it('marks the given ones seen, which unseenOnly and the unseen count then leave out', async () => {
      const user = await registerAuthor(t);
      const ids = await seed(user.authorId, 4);
      expect(await unseenCount(user.token!)).toBe(4);
      const before = nowSeconds();

      expect(await markSeen(user.token!, [ids[0], ids[1]])).toBe(2);

      expect(await unseenCount(user.token!)).toBe(2);
      expect((await all(user.token!, true)).map((node) => node.id)).toEqual([ids[3], ids[2]]);
      const nodes = await all(user.token!);
      expect(nodes.map((node) => node.id)).toEqual([...ids].reverse());
      for (const node of nodes.slice(2)) {
        expect(node.seenAt).toBeGreaterThanOrEqual(before);
        expect(node.seenAt).toBeLessThanOrEqual(nowSeconds());
      }
      expect(nodes.slice(0, 2).map((node) => node.seenAt)).toEqual([null, null]);
      // Already seen ones do not count again; a repeated id counts once.
      expect(await markSeen(user.token!, [ids[0]])).toBe(0);
      expect(await markSeen(user.token!, [ids[2], ids[2]])).toBe(1);
      expect(await markSeen(user.token!, [])).toBe(0);
      expect(await unseenCount(user.token!)).toBe(1);
    });

    it("changes nothing with another user's ids", async () => {
      const attacker = await registerAuthor(t);
      const victim = await registerAuthor(t);
      const [own] = await seed(attacker.authorId, 1);
      const victimIds = await seed(victim.authorId, 2);

      expect(await markSeen(attacker.token!, victimIds)).toBe(0);
      expect(await markSeen(attacker.token!, [victimIds[0], own])).toBe(1);

      expect(await unseenCount(victim.token!)).toBe(2);
      expect((await all(victim.token!)).map((node) => node.seenAt)).toEqual([null, null]);
    });

    it("markAllNotificationsSeen marks every one of the caller's, and nobody else's", async () => {
      const user = await registerAuthor(t);
      const other = await registerAuthor(t);
      const ids = await seed(user.authorId, 3);
      await seed(other.authorId, 2);
      await markSeen(user.token!, [ids[0]]);

      expect(dataOf(await gql(t, MARK_ALL_SEEN, {}, user.token)).markAllNotificationsSeen).toBe(2);

      expect(await unseenCount(user.token!)).toBe(0);
      expect(await all(user.token!, true)).toEqual([]);
      expect(await unseenCount(other.token!)).toBe(2);
      expect(dataOf(await gql(t, MARK_ALL_SEEN, {}, user.token)).markAllNotificationsSeen).toBe(0);
    });

    it.each([
      ['a word', ['abc']],
      ['a negative number', ['-1']],
      ['a decimal', ['1.5']],
      ['an empty id', ['']],
      ['an id too large for the table', ['99999999999999999999']],
      ['1001 ids', Array.from({ length: 1001 }, (_, i) => String(i + 1))],
    ])('refuses %s with BAD_USER_INPUT and marks nothing', async (_label, bad) => {
      const user = await registerAuthor(t);
      const [id] = await seed(user.authorId, 1);

      const res = await gql(t, MARK_SEEN, { ids: [id, ...bad] }, user.token);

      expect(errorCode(res)).toBe('BAD_USER_INPUT');
      expect(await unseenCount(user.token!)).toBe(1);
    });

    it('accepts 1000 ids at once', async () => {
      const user = await registerAuthor(t);
      const [id] = await seed(user.authorId, 1);
      const ids = [id, ...Array.from({ length: 999 }, (_, i) => String(i + 1))];
      expect(await markSeen(user.token!, ids)).toBe(1);
      expect(await unseenCount(user.token!)).toBe(0);
    });
  });

  describe('without a session', () => {
    it.each([
      ['notifications', NOTIFICATIONS, {}],
      ['unseenNotificationsCount', UNSEEN_COUNT, {}],
      ['markNotificationsSeen', MARK_SEEN, { ids: ['1'] }],
      ['markAllNotificationsSeen', MARK_ALL_SEEN, {}],
    ])(
      '%s answers UNAUTHENTICATED, anonymous or with a forged token',
      async (_name, query, variables) => {
        const victim = await registerAuthor(t);
        const [id] = await seed(victim.authorId, 1);
        const vars = 'ids' in variables ? { ids: [id] } : variables;

        const anonymous = await gql(t, query, vars);
        expect(errorCode(anonymous)).toBe('UNAUTHENTICATED');
        expect(anonymous.body.data).toBeNull();
        const forged = await gql(t, query, vars, `${victim.token!.slice(0, -4)}AAAA`);
        expect(errorCode(forged)).toBe('UNAUTHENTICATED');

        expect(await unseenCount(victim.token!)).toBe(1);
      },
    );
  });

  describe('fan-out to 2,000 followers', () => {
    it('answers createShout before the fan-out is done, then notifies every follower exactly once', async () => {
      const author = await registerAuthor(t);
      const db = t.app.get(DataSource);
      const now = nowSeconds();
      const tag = unique();
      const fans: { id: number }[] = await db.query(
        `INSERT INTO author (email, slug, name, created_at, updated_at)
         SELECT 'fan-' || $1 || '-' || n || '@example.test', 'fan-' || $1 || '-' || n, 'Fan ' || n, $2, $2
           FROM generate_series(1, 2000) AS n
         RETURNING id`,
        [tag, now],
      );
      const fanIds = fans.map((fan) => Number(fan.id)).sort((a, b) => a - b);
      await db.query(
        `INSERT INTO follower (follower_id, author_id, created_at)
         SELECT id, $2, $3 FROM unnest($1::integer[]) AS id`,
        [fanIds, author.authorId, now],
      );
      const sampled = [fanIds[0], fanIds[999], fanIds[1000], fanIds[1999]];
      const inboxes = await Promise.all(sampled.map((id) => listen(`shout:${id}`)));

      // Holds the fan-out's writes until the mutation has answered, whatever the machine's speed.
      const repository = t.app.get(NotificationRepository);
      const insertMany = repository.insertMany.bind(repository);
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      const spy = jest
        .spyOn(repository, 'insertMany')
        .mockImplementation(async (rows: NewNotification[]) => {
          await gate;
          return insertMany(rows);
        });
      const stored = async (shoutId: number) => {
        const [row]: { total: string; recipients: string; followers: string }[] = await db.query(
          `SELECT count(*) AS total, count(DISTINCT n.recipient_id) AS recipients,
                  count(f.follower_id) AS followers
             FROM notification n
             LEFT JOIN follower f ON f.follower_id = n.recipient_id AND f.author_id = $2
            WHERE n.type = 'shout' AND n.payload->>'shout_id' = $1`,
          [String(shoutId), author.authorId],
        );
        return {
          total: Number(row.total),
          recipients: Number(row.recipients),
          followers: Number(row.followers),
        };
      };

      try {
        const res = await gql(
          t,
          CREATE_SHOUT,
          { input: { title: `Big ${tag}`, body: 'To everyone' } },
          author.token,
        );
        const shout = dataOf(res).createShout;
        await waitFor(() => spy.mock.calls.length > 0, { message: 'fan-out started' });
        expect((await stored(shout.id)).total).toBe(0);

        open();

        const counts = await waitFor(
          async () => {
            const current = await stored(shout.id);
            return current.total >= 2000 ? current : null;
          },
          { timeoutMs: 60_000, intervalMs: 100, message: '2,000 notifications' },
        );
        expect(counts).toEqual({ total: 2000, recipients: 2000, followers: 2000 });
        // One INSERT per batch of followers.
        expect(spy.mock.calls.map(([rows]) => rows.length)).toEqual([1000, 1000]);
        for (const [i, id] of sampled.entries()) {
          await waitFor(() => inboxes[i].length > 0, { message: `message to follower ${id}` });
          const [row]: { id: string }[] = await db.query(
            `SELECT id FROM notification WHERE recipient_id = $1 AND type = 'shout'`,
            [id],
          );
          expect(inboxes[i].map((message) => JSON.parse(message))).toEqual([
            expect.objectContaining({ id: Number(row.id), type: 'shout', action: 'create' }),
          ]);
          expect(JSON.parse(inboxes[i][0]).payload).toMatchObject({ shout_id: shout.id });
        }
      } finally {
        open();
        spy.mockRestore();
      }
    });
  });
});
