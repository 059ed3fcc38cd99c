import { type Client, createClient } from 'graphql-ws';
import WebSocket, { type RawData } from 'ws';
import { waitFor } from './wait-for';

// Two ways to talk to GET /graphql as a WebSocket in tests: `subscribeNotifications` is a real
// graphql-ws client, for what an application sees; `RawSocket` speaks the protocol by hand, for
// what an attacker could send. Everything opened here is tracked, so that one `closeAllSockets()`
// in afterEach leaves no socket to hang the suite.

const PROTOCOL = 'graphql-transport-ws';
const DEFAULT_TIMEOUT_MS = 5_000;

export const NOTIFICATIONS_SUBSCRIPTION =
  'subscription Notifications($after: ID) { notifications(after: $after) { id type action entity payload createdAt seenAt } }';

/** A notification as the subscription delivers it. */
export interface SubscribedNotification {
  id: string;
  type: string;
  action: string;
  entity: string;
  payload: string;
  createdAt: number;
  seenAt: number | null;
}

/** How a socket ended. */
export interface SocketClose {
  code: number;
  reason: string;
  /** Date.now() when it closed. */
  at: number;
}

/** The upgrade request's headers (Origin, Cookie, …); never a credential in the URL. */
export interface UpgradeOptions {
  origin?: string;
  cookie?: string;
  headers?: Record<string, string>;
}

interface Closable {
  close(): void;
}
const open = new Set<Closable>();

/** Closes every socket the helpers opened; call it in afterEach. */
export function closeAllSockets(): void {
  for (const socket of [...open]) socket.close();
}

/** ws://host/graphql for an app's http:// base URL. */
export function socketUrl(baseUrl: string, path = '/graphql'): string {
  const url = new URL(path, baseUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

function upgradeHeaders(options: UpgradeOptions): Record<string, string> {
  return {
    ...(options.origin !== undefined && { Origin: options.origin }),
    ...(options.cookie !== undefined && { Cookie: options.cookie }),
    ...options.headers,
  };
}

/** A `notifications` subscription through graphql-ws's own client, with no retry of its own. */
export class NotificationSubscription implements Closable {
  readonly notifications: SubscribedNotification[] = [];
  readonly errors: unknown[] = [];
  acknowledged = false;
  closedWith?: SocketClose;
  completed = false;
  private readonly client: Client;
  private unsubscribe?: () => void;

  constructor(
    baseUrl: string,
    connectionParams: Record<string, unknown> | undefined,
    upgrade: UpgradeOptions,
    private readonly variables: { after?: string | null },
  ) {
    const headers = upgradeHeaders(upgrade);
    this.client = createClient({
      url: socketUrl(baseUrl),
      connectionParams,
      lazy: false,
      retryAttempts: 0,
      shouldRetry: () => false,
      // Headers on the upgrade request, which browsers set themselves.
      webSocketImpl: class extends WebSocket {
        constructor(url: string, protocols: string | string[]) {
          super(url, protocols, { headers });
        }
      },
      on: {
        connected: () => {
          this.acknowledged = true;
        },
        closed: (event) => {
          const { code, reason } = event as { code: number; reason: string };
          this.closedWith ??= { code, reason: String(reason), at: Date.now() };
        },
      },
      onNonLazyError: () => undefined,
    });
    open.add(this);
  }

  /** Sends `subscribe` (graphql-ws waits for the ack first). */
  start(): this {
    this.unsubscribe = this.client.subscribe<{ notifications: SubscribedNotification }>(
      { query: NOTIFICATIONS_SUBSCRIPTION, variables: this.variables },
      {
        next: (result) => {
          if (result.data) this.notifications.push(result.data.notifications);
          if (result.errors) this.errors.push(...result.errors);
        },
        error: (error) => this.errors.push(error),
        complete: () => {
          this.completed = true;
        },
      },
    );
    return this;
  }

  untilAcknowledged(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    return waitFor(() => this.acknowledged, { timeoutMs, message: 'connection_ack' }).then(
      () => undefined,
    );
  }

  async untilNotifications(
    count: number,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<SubscribedNotification[]> {
    await waitFor(() => this.notifications.length >= count, {
      timeoutMs,
      message: `${count} notifications`,
    });
    return this.notifications;
  }

  async untilClosed(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<SocketClose> {
    return (await waitFor(() => this.closedWith, { timeoutMs, message: 'socket closed' }))!;
  }

  untilError(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<unknown> {
    return waitFor(() => this.errors[0], { timeoutMs, message: 'subscription error' });
  }

  close(): void {
    open.delete(this);
    this.unsubscribe?.();
    void this.client.dispose();
  }
}

/**
 * Connects with `connection_init` carrying `connectionParams` (a token or a ticket; none for the
 * cookie) and subscribes to notifications, from `after` when given.
 */
export function subscribeNotifications(
  baseUrl: string,
  options: {
    params?: Record<string, unknown>;
    upgrade?: UpgradeOptions;
    after?: string | null;
  } = {},
): NotificationSubscription {
  return new NotificationSubscription(baseUrl, options.params, options.upgrade ?? {}, {
    after: options.after,
  }).start();
}

/** A protocol message received, parsed (or the raw text when it was not JSON). */
export type ProtocolMessage = { type?: string; id?: string; payload?: unknown } | string;

/**
 * A WebSocket speaking graphql-transport-ws by hand: what an attacker's script would do. It records
 * the upgrade's answer (status when refused), every message, and the close.
 */
export class RawSocket implements Closable {
  readonly messages: ProtocolMessage[] = [];
  /** The HTTP status of a refused upgrade, and its body. */
  refused?: { status: number; body: string };
  opened = false;
  closedWith?: SocketClose;
  readonly socket: WebSocket;

  constructor(url: string, upgrade: UpgradeOptions = {}, protocol: string | null = PROTOCOL) {
    this.socket = new WebSocket(url, protocol === null ? [] : [protocol], {
      headers: upgradeHeaders(upgrade),
    });
    open.add(this);
    this.socket.on('open', () => {
      this.opened = true;
    });
    this.socket.on('message', (data: RawData) => {
      const text = data.toString();
      try {
        this.messages.push(JSON.parse(text) as ProtocolMessage);
      } catch {
        this.messages.push(text);
      }
    });
    this.socket.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => {
        this.refused = { status: res.statusCode ?? 0, body };
      });
    });
    this.socket.on('close', (code: number, reason: Buffer) => {
      this.closedWith = { code, reason: reason.toString(), at: Date.now() };
    });
    this.socket.on('error', () => undefined);
  }

  untilOpen(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    return waitFor(() => this.opened, { timeoutMs, message: 'socket open' }).then(() => undefined);
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  async untilMessage(
    predicate: (message: ProtocolMessage) => boolean,
    what: string,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<ProtocolMessage> {
    return (await waitFor(() => this.messages.find(predicate), { timeoutMs, message: what }))!;
  }

  async untilClosed(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<SocketClose> {
    return (await waitFor(() => this.closedWith, { timeoutMs, message: 'socket closed' }))!;
  }

  async untilRefused(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<{ status: number; body: string }> {
    return (await waitFor(() => this.refused, { timeoutMs, message: 'upgrade refused' }))!;
  }

  close(): void {
    open.delete(this);
    this.socket.terminate();
  }
}

/** `connection_init` with `payload`, then the ack or the close, whichever comes. */
export async function initRaw(
  baseUrl: string,
  payload: unknown,
  upgrade: UpgradeOptions = {},
): Promise<RawSocket> {
  const socket = new RawSocket(socketUrl(baseUrl), upgrade);
  await socket.untilOpen();
  socket.send({ type: 'connection_init', ...(payload !== undefined && { payload }) });
  await waitFor(
    () =>
      socket.closedWith ||
      socket.messages.some((m) => typeof m === 'object' && m.type === 'connection_ack'),
    { message: 'connection_ack or close' },
  );
  return socket;
}
