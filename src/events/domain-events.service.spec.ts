import { Logger } from '@nestjs/common';
import { waitFor } from '../../test/support/wait-for';
import { DomainEvents, type DomainEventMap } from './domain-events.service';

const followed: DomainEventMap['follower.created'] = { followerId: 1, authorId: 2, createdAt: 100 };
const unfollowed: DomainEventMap['follower.deleted'] = { followerId: 1, authorId: 2 };
const shouted: DomainEventMap['shout.created'] = {
  shoutId: 3,
  authorId: 4,
  title: 'Hello',
  createdAt: 100,
};

/** A handler that records the events it gets. */
function recorder<T>() {
  const calls: T[] = [];
  return { calls, handle: (event: T) => void calls.push(event) };
}

describe('DomainEvents', () => {
  let events: DomainEvents;
  let loggedErrors: string[];
  const logError = Logger.prototype.error;

  beforeEach(() => {
    events = new DomainEvents();
    loggedErrors = [];
    // Failing handlers are logged: keep the test output clean and check what is logged.
    Logger.prototype.error = (message: unknown) => void loggedErrors.push(String(message));
  });
  afterEach(() => {
    Logger.prototype.error = logError;
  });

  it('runs handlers after emit has returned, with the event', async () => {
    const handler = recorder<DomainEventMap['follower.created']>();
    events.on('follower.created', handler.handle);

    events.emit('follower.created', followed);
    expect(handler.calls).toEqual([]);
    // Not in the emitting call's microtasks either: a slow consumer must not hold up the request.
    await Promise.resolve();
    await Promise.resolve();
    expect(handler.calls).toEqual([]);

    await waitFor(() => handler.calls.length > 0, { message: 'handler called' });
    expect(handler.calls).toEqual([followed]);
  });

  it('emit returns while a slow handler is still running', async () => {
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    let state = 'not started';
    events.on('follower.created', async () => {
      state = 'running';
      await finished;
      state = 'done';
    });

    events.emit('follower.created', followed);
    expect(state).toBe('not started');
    await waitFor(() => state === 'running', { message: 'slow handler started' });
    // The handler is parked on its await; nothing waits for it.
    expect(state).toBe('running');
    finish();
    await waitFor(() => state === 'done', { message: 'slow handler finished' });
  });

  it('delivers each event once to every handler of its name', async () => {
    const first = recorder<DomainEventMap['follower.created']>();
    const second = recorder<DomainEventMap['follower.created']>();
    events.on('follower.created', first.handle);
    events.on('follower.created', second.handle);

    events.emit('follower.created', followed);
    await waitFor(() => first.calls.length > 0 && second.calls.length > 0, {
      message: 'both handlers called',
    });
    expect(first.calls).toEqual([followed]);
    expect(second.calls).toEqual([followed]);
  });

  it('a handler that throws does not stop the others, and the failure is logged', async () => {
    const before = recorder<DomainEventMap['follower.created']>();
    const after = recorder<DomainEventMap['follower.created']>();
    events.on('follower.created', before.handle);
    events.on('follower.created', () => {
      throw new Error('boom (sync)');
    });
    events.on('follower.created', after.handle);

    expect(() => events.emit('follower.created', followed)).not.toThrow();
    await waitFor(() => before.calls.length > 0 && after.calls.length > 0, {
      message: 'the other handlers called',
    });
    expect(after.calls).toEqual([followed]);
    await waitFor(() => loggedErrors.length > 0, { message: 'failure logged' });
    expect(loggedErrors[0]).toContain('follower.created');
    expect(loggedErrors[0]).toContain('boom (sync)');
  });

  it('a handler that rejects does not stop the others, and the failure is logged', async () => {
    const before = recorder<DomainEventMap['shout.created']>();
    const after = recorder<DomainEventMap['shout.created']>();
    events.on('shout.created', before.handle);
    events.on('shout.created', () => Promise.reject(new Error('boom (async)')));
    events.on('shout.created', after.handle);

    events.emit('shout.created', shouted);
    await waitFor(() => before.calls.length > 0 && after.calls.length > 0, {
      message: 'the other handlers called',
    });
    expect(after.calls).toEqual([shouted]);
    await waitFor(() => loggedErrors.length > 0, { message: 'failure logged' });
    expect(loggedErrors[0]).toContain('shout.created');
    expect(loggedErrors[0]).toContain('boom (async)');
  });

  it('a handler that failed still gets later events', async () => {
    const seen: number[] = [];
    events.on('follower.deleted', (event) => {
      seen.push(event.followerId);
      throw new Error('always fails');
    });

    events.emit('follower.deleted', { followerId: 1, authorId: 9 });
    events.emit('follower.deleted', { followerId: 2, authorId: 9 });
    await waitFor(() => seen.length === 2, { message: 'both events handled' });
    expect(seen).toEqual([1, 2]);
  });

  it('the function returned by on unsubscribes that handler only', async () => {
    const removed = recorder<DomainEventMap['follower.created']>();
    const kept = recorder<DomainEventMap['follower.created']>();
    const off = events.on('follower.created', removed.handle);
    events.on('follower.created', kept.handle);

    off();
    events.emit('follower.created', followed);
    // Handlers queued by one emit run in order; once `kept` ran, `removed` would have too.
    await waitFor(() => kept.calls.length > 0, { message: 'kept handler called' });
    expect(removed.calls).toEqual([]);
  });

  it('events of another name do not reach a handler', async () => {
    const onDeleted = recorder<DomainEventMap['follower.deleted']>();
    const onShout = recorder<DomainEventMap['shout.created']>();
    events.on('follower.deleted', onDeleted.handle);
    events.on('shout.created', onShout.handle);

    events.emit('follower.created', followed);
    events.emit('shout.created', shouted);
    // Delivered in emit order: once the shout arrived, the follow would have reached onDeleted.
    await waitFor(() => onShout.calls.length > 0, { message: 'shout handler called' });
    expect(onDeleted.calls).toEqual([]);
    expect(onShout.calls).toEqual([shouted]);

    events.emit('follower.deleted', unfollowed);
    await waitFor(() => onDeleted.calls.length > 0, { message: 'deleted handler called' });
    expect(onDeleted.calls).toEqual([unfollowed]);
    expect(onShout.calls).toEqual([shouted]);
  });

  it('emitting an event nobody listens to is harmless', async () => {
    expect(() => events.emit('follower.deleted', unfollowed)).not.toThrow();
    const later = recorder<DomainEventMap['follower.deleted']>();
    events.on('follower.deleted', later.handle);
    events.emit('follower.deleted', { followerId: 5, authorId: 6 });
    await waitFor(() => later.calls.length > 0, { message: 'later handler called' });
    // A handler added after an emit does not get that earlier event.
    expect(later.calls).toEqual([{ followerId: 5, authorId: 6 }]);
    expect(loggedErrors).toEqual([]);
  });
});
