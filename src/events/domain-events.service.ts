import { Injectable, Logger } from '@nestjs/common';

/** The domain events of the publishing domain, by name, with what each carries. */
export interface DomainEventMap {
  'follower.created': { followerId: number; authorId: number; createdAt: number };
  'follower.deleted': { followerId: number; authorId: number };
  'shout.created': { shoutId: number; authorId: number; title: string; createdAt: number };
}

export type DomainEventName = keyof DomainEventMap;
type Handler<K extends DomainEventName> = (event: DomainEventMap[K]) => void | Promise<void>;

/**
 * In-process, typed domain events. Handlers run after the emitting call has returned (on the next
 * turn of the event loop), so a slow consumer (notifying 10,000 followers) never holds up the
 * request that raised the event; a failing handler is logged and does not affect the others.
 */
@Injectable()
export class DomainEvents {
  private readonly logger = new Logger(DomainEvents.name);
  private readonly handlers = new Map<DomainEventName, Set<Handler<never>>>();

  on<K extends DomainEventName>(name: K, handler: Handler<K>): () => void {
    const set = this.handlers.get(name) ?? new Set();
    set.add(handler as Handler<never>);
    this.handlers.set(name, set);
    return () => set.delete(handler as Handler<never>);
  }

  emit<K extends DomainEventName>(name: K, event: DomainEventMap[K]): void {
    for (const handler of this.handlers.get(name) ?? []) {
      setImmediate(() => {
        Promise.resolve()
          .then(() => (handler as Handler<K>)(event))
          .catch((error: Error) => this.logger.error(`${name} handler failed: ${error.message}`));
      });
    }
  }
}
