import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { DomainEvents } from '../events/domain-events.service';
import { NotifyService } from './notify.service';

/**
 * Turns the publishing domain's events into notifications. DomainEvents calls handlers after the
 * emitting request has returned, so a shout to 10,000 followers never holds up `createShout`.
 * At shutdown, fan-outs under way are awaited so they do not meet a closed database halfway.
 */
@Injectable()
export class NotificationFanout implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(NotificationFanout.name);
  private readonly unsubscribers: (() => void)[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(
    private readonly events: DomainEvents,
    private readonly notify: NotifyService,
  ) {}

  onModuleInit(): void {
    this.unsubscribers.push(
      this.events.on('follower.created', ({ followerId, authorId }) =>
        this.track(() => this.notify.notifyFollower({ followerId, authorId, action: 'create' })),
      ),
      this.events.on('follower.deleted', ({ followerId, authorId }) =>
        this.track(() => this.notify.notifyFollower({ followerId, authorId, action: 'delete' })),
      ),
      this.events.on('shout.created', ({ shoutId, authorId, title }) =>
        this.track(() => this.notify.notifyShout({ shoutId, authorId, title })),
      ),
    );
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
    await Promise.allSettled([...this.inFlight]);
  }

  /** Runs a handler, unless shutdown has begun (an event emitted just before it may still arrive). */
  private async track(work: () => Promise<unknown>): Promise<void> {
    if (this.stopped) {
      this.logger.warn('Event arrived during shutdown; its notifications are not created');
      return;
    }
    const running = work();
    this.inFlight.add(running);
    try {
      await running;
    } finally {
      this.inFlight.delete(running);
    }
  }
}
