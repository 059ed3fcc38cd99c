/**
 * Tessera's browser client for the notification stream, over Server-Sent Events
 * (GET /sse/notifications) or over WebSocket (the `notifications` subscription of /graphql, with the
 * `graphql-transport-ws` protocol).
 *
 *   import { TesseraStream } from '/demo/tessera-stream.js';
 *   const stream = new TesseraStream({
 *     url: 'https://api.example.com/sse/notifications',
 *     onNotification: (n) => show(n),
 *     onSignedOut: () => showSignIn(),
 *   });
 *   stream.start();
 *
 *   // The same notifications over WebSocket (wss://api.example.com/graphql):
 *   new TesseraStream({
 *     transport: 'websocket',
 *     url: 'https://api.example.com/graphql',
 *     auth: 'cookie', // or 'ticket', or { token }
 *     onNotification: (n) => show(n),
 *     onSignedOut: () => showSignIn(),
 *   }).start();
 *
 * It sends the session cookie (SSE: `withCredentials`), resumes from the last event id after any
 * interruption, backs off exponentially while the network fails, and stops for good (calling
 * `onSignedOut`) when the server says the session is gone: a 401, or `session_revoked` (over
 * WebSocket: close code 4401). Over WebSocket, close code 4403 (forbidden) stops it too, with status
 * 'stopped' and no `onSignedOut`: signing in again would not change the answer. (A page on a foreign
 * origin is refused earlier, at the upgrade, which a browser reports like a network failure: the
 * client backs off as for one.)
 */

export interface StreamNotification {
  id: number;
  type: string;
  action: string;
  entity: string;
  payload: Record<string, unknown>;
  created_at: number;
}

/** Whatever arrives on the stream, parsed: notifications, or `{type: 'connected' | …}`. */
export type StreamMessage = { type: string; [key: string]: unknown };

export type StreamStatus = 'connecting' | 'open' | 'reconnecting' | 'signed-out' | 'stopped';

export type StreamTransport = 'sse' | 'websocket';

/**
 * How a WebSocket connection authenticates: the session cookie sent with the upgrade (the page's
 * origin must be the API's own or in CORS_ORIGINS), a one-time ticket fetched with that cookie
 * before every attempt (`POST /sse/ticket`), or a bearer session token.
 */
export type StreamAuth = 'cookie' | 'ticket' | { token: string };

export interface TesseraStreamOptions {
  /**
   * SSE: the stream's URL, e.g. `https://api.example.com/sse/notifications`. WebSocket: the GraphQL
   * endpoint, e.g. `https://api.example.com/graphql` (connected to as wss:, or ws: for http:).
   */
  url: string;
  /** 'sse' by default. */
  transport?: StreamTransport;
  /** WebSocket only; 'cookie' by default. */
  auth?: StreamAuth;
  /** SSE only: send the session cookie to another origin (that origin must be in CORS_ORIGINS). */
  withCredentials?: boolean;
  onNotification?: (notification: StreamNotification) => void;
  /**
   * Every message, notifications included. Over WebSocket only notifications: what SSE says in
   * other messages (`session_revoked`, `reconnect`) is said there by close codes.
   */
  onMessage?: (message: StreamMessage) => void;
  onStatus?: (status: StreamStatus) => void;
  /** The session is over: show the sign-in form. The stream does not reconnect. */
  onSignedOut?: (reason: 'unauthenticated' | 'session_revoked') => void;
  /** First and longest wait between reconnection attempts, in ms (1000 and 30000 by default). */
  backoff?: { initialMs?: number; maxMs?: number };
}

const SUBSCRIPTION_ID = '1';
const NOTIFICATIONS =
  'subscription Notifications($after: ID) { notifications(after: $after) { id type action entity payload createdAt } }';

/** A notification as the GraphQL subscription delivers it. */
interface GraphQLNotification {
  id: string;
  type: string;
  action: string;
  entity: string;
  /** JSON. */
  payload: string;
  createdAt: number;
}

/** A `graphql-transport-ws` message from the server. */
interface ServerMessage {
  type: string;
  id?: string;
  payload?: { data?: { notifications?: GraphQLNotification } };
}

export class TesseraStream {
  private source?: EventSource;
  private socket?: WebSocket;
  /** The ticket request of the WebSocket attempt under way, aborted by `stop()`. */
  private ticketRequest?: AbortController;
  private timer?: ReturnType<typeof setTimeout>;
  private delayMs: number;
  private stopped = true;
  /** The id of the last event received: where a new connection resumes. */
  lastEventId = '';

  constructor(private readonly options: TesseraStreamOptions) {
    this.delayMs = options.backoff?.initialMs ?? 1000;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(status: StreamStatus = 'stopped'): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.source?.close();
    this.source = undefined;
    this.ticketRequest?.abort();
    this.ticketRequest = undefined;
    const socket = this.socket;
    this.socket = undefined;
    socket?.close(1000);
    this.options.onStatus?.(status);
  }

  private connect(): void {
    if (this.stopped) return;
    this.options.onStatus?.('connecting');
    if (this.options.transport === 'websocket') void this.connectSocket();
    else this.connectSource();
  }

  private connectSource(): void {
    const url = new URL(this.options.url, location.href);
    if (this.lastEventId) url.searchParams.set('last_event_id', this.lastEventId);
    const source = new EventSource(url, { withCredentials: this.options.withCredentials ?? true });
    this.source = source;
    source.onopen = () => this.opened();
    source.onmessage = (event) => this.receive(event);
    // EventSource retries network errors by itself at a fixed pace, and gives up for good on an
    // HTTP error. Either way this client takes over: it finds out why, then backs off or stops.
    source.onerror = () => {
      source.close();
      if (this.source === source) void this.recover();
    };
  }

  private receive(event: MessageEvent<string>): void {
    if (event.lastEventId) this.lastEventId = event.lastEventId;
    let message: StreamMessage;
    try {
      message = JSON.parse(event.data) as StreamMessage;
    } catch {
      return;
    }
    this.options.onMessage?.(message);
    if (message.type === 'session_revoked') {
      this.signOut('session_revoked');
    } else if (message.type === 'reconnect') {
      this.source?.close();
      this.source = undefined;
      this.rejoin();
    } else if (typeof message.id === 'number') {
      this.options.onNotification?.(message as unknown as StreamNotification);
    }
  }

  /** A 401 means signed out; anything else (network, 5xx, 429) is retried with a growing delay. */
  private async recover(): Promise<void> {
    if (this.stopped) return;
    this.options.onStatus?.('reconnecting');
    const status = await this.probe();
    if (this.stopped) return;
    if (status === 401) {
      this.signOut('unauthenticated');
      return;
    }
    this.retryLater();
  }

  /** The stream's HTTP status, read without keeping the stream (0 when the network failed). */
  private async probe(): Promise<number> {
    const controller = new AbortController();
    try {
      const response = await fetch(this.options.url, {
        credentials: this.options.withCredentials === false ? 'same-origin' : 'include',
        signal: controller.signal,
        headers: { Accept: 'text/event-stream' },
      });
      return response.status;
    } catch {
      return 0;
    } finally {
      controller.abort();
    }
  }

  private async connectSocket(): Promise<void> {
    const auth = this.options.auth ?? 'cookie';
    let payload: Record<string, string> = {};
    if (auth === 'ticket') {
      const request = new AbortController();
      this.ticketRequest = request;
      const ticket = await this.fetchTicket(request.signal);
      if (request.signal.aborted) return; // stopped meanwhile
      this.ticketRequest = undefined;
      if (ticket === 401) {
        this.signOut('unauthenticated');
        return;
      }
      if (ticket === undefined) {
        this.fail();
        return;
      }
      payload = { ticket };
    } else if (auth !== 'cookie') {
      payload = { token: auth.token };
    }
    const url = this.endpoint();
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(url, 'graphql-transport-ws');
    this.socket = socket;
    socket.onopen = () => socket.send(JSON.stringify({ type: 'connection_init', payload }));
    socket.onmessage = (event: MessageEvent<string>) => {
      if (this.socket === socket) this.receiveFrame(socket, event.data);
    };
    // An error event is always followed by close, which carries the reason.
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.closed(event.code, event.reason);
    };
  }

  /** The url option as http(s): the API's origin, where tickets are issued. */
  private endpoint(): URL {
    const url = new URL(this.options.url, location.href);
    if (url.protocol === 'wss:') url.protocol = 'https:';
    else if (url.protocol === 'ws:') url.protocol = 'http:';
    return url;
  }

  /** A fresh one-time ticket; 401 when signed out, undefined when none could be had. */
  private async fetchTicket(signal: AbortSignal): Promise<string | 401 | undefined> {
    try {
      const response = await fetch(new URL('/sse/ticket', this.endpoint()), {
        method: 'POST',
        credentials: 'include',
        signal,
      });
      if (response.status === 401) return 401;
      if (!response.ok) return undefined;
      return ((await response.json()) as { ticket: string }).ticket;
    } catch {
      return undefined;
    }
  }

  private receiveFrame(socket: WebSocket, data: string): void {
    let message: ServerMessage;
    try {
      message = JSON.parse(data) as ServerMessage;
    } catch {
      return;
    }
    const ours = message.id === SUBSCRIPTION_ID;
    if (message.type === 'ping') {
      socket.send(JSON.stringify({ type: 'pong' }));
    } else if (message.type === 'connection_ack') {
      this.opened();
      const variables = { after: this.lastEventId || null };
      socket.send(
        JSON.stringify({
          id: SUBSCRIPTION_ID,
          type: 'subscribe',
          payload: { query: NOTIFICATIONS, variables },
        }),
      );
    } else if (ours && message.type === 'next') {
      const notification = message.payload?.data?.notifications;
      if (notification) this.deliver(notification);
    } else if (ours && (message.type === 'error' || message.type === 'complete')) {
      // The subscription failed or the server ended it: start over on a new connection.
      this.socket = undefined;
      socket.close(1000);
      this.fail();
    }
  }

  /** Hands a subscription result on in the shape the SSE stream has. */
  private deliver(received: GraphQLNotification): void {
    this.lastEventId = received.id;
    let payload: Record<string, unknown>;
    try {
      payload = JSON.parse(received.payload) as Record<string, unknown>;
    } catch {
      return;
    }
    const notification: StreamNotification = {
      id: Number(received.id),
      type: received.type,
      action: received.action,
      entity: received.entity,
      payload,
      created_at: received.createdAt,
    };
    this.options.onMessage?.(notification as unknown as StreamMessage);
    this.options.onNotification?.(notification);
  }

  /** Why the server closed the socket decides what comes next. */
  private closed(code: number, reason: string): void {
    if (code === 4401) {
      this.signOut(reason === 'session_revoked' ? 'session_revoked' : 'unauthenticated');
    } else if (code === 4403) {
      this.stop('stopped');
    } else if (code === 4000 && reason === 'reconnect') {
      this.rejoin();
    } else {
      this.fail();
    }
  }

  private opened(): void {
    this.delayMs = this.options.backoff?.initialMs ?? 1000;
    this.options.onStatus?.('open');
  }

  private signOut(reason: 'unauthenticated' | 'session_revoked'): void {
    this.stop('signed-out');
    this.options.onSignedOut?.(reason);
  }

  /**
   * The server is closing this stream (lifetime cap, or shutdown): come back after a short, random
   * pause, so that a fleet of clients does not return in the same instant.
   */
  private rejoin(): void {
    this.options.onStatus?.('reconnecting');
    this.timer = setTimeout(() => this.connect(), 250 + Math.random() * 1000);
  }

  /** Anything but a signed-out or refused page: try again, waiting longer each time. */
  private fail(): void {
    this.options.onStatus?.('reconnecting');
    this.retryLater();
  }

  private retryLater(): void {
    const maxMs = this.options.backoff?.maxMs ?? 30_000;
    const delay = this.delayMs * (0.5 + Math.random() / 2);
    this.delayMs = Math.min(maxMs, this.delayMs * 2);
    this.timer = setTimeout(() => this.connect(), delay);
  }
}
