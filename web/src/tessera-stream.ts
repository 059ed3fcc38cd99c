/**
 * Tessera's browser client for the notification stream (GET /sse/notifications).
 *
 *   import { TesseraStream } from '/demo/tessera-stream.js';
 *   const stream = new TesseraStream({
 *     url: 'https://api.example.com/sse/notifications',
 *     onNotification: (n) => show(n),
 *     onSignedOut: () => showSignIn(),
 *   });
 *   stream.start();
 *
 * It sends the session cookie (`withCredentials`), resumes from the last event id after any
 * interruption, backs off exponentially while the network fails, and stops for good (calling
 * `onSignedOut`) when the server says the session is gone: a 401, or `session_revoked`.
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

export interface TesseraStreamOptions {
  /** The stream's URL, e.g. `https://api.example.com/sse/notifications`. */
  url: string;
  /** Send the session cookie to another origin (that origin must list this page's in CORS_ORIGINS). */
  withCredentials?: boolean;
  onNotification?: (notification: StreamNotification) => void;
  /** Every message, notifications included. */
  onMessage?: (message: StreamMessage) => void;
  onStatus?: (status: StreamStatus) => void;
  /** The session is over: show the sign-in form. The stream does not reconnect. */
  onSignedOut?: (reason: 'unauthenticated' | 'session_revoked') => void;
  /** First and longest wait between reconnection attempts, in ms (1000 and 30000 by default). */
  backoff?: { initialMs?: number; maxMs?: number };
}

export class TesseraStream {
  private source?: EventSource;
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
    this.options.onStatus?.(status);
  }

  private connect(): void {
    if (this.stopped) return;
    this.options.onStatus?.('connecting');
    const url = new URL(this.options.url, location.href);
    if (this.lastEventId) url.searchParams.set('last_event_id', this.lastEventId);
    const source = new EventSource(url, { withCredentials: this.options.withCredentials ?? true });
    this.source = source;
    source.onopen = () => {
      this.delayMs = this.options.backoff?.initialMs ?? 1000;
      this.options.onStatus?.('open');
    };
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
      this.stop('signed-out');
      this.options.onSignedOut?.('session_revoked');
    } else if (message.type === 'reconnect') {
      // The server is closing this stream (lifetime cap, or shutdown): come back after a short,
      // random pause, so that a fleet of clients does not return in the same instant.
      this.source?.close();
      this.source = undefined;
      this.options.onStatus?.('reconnecting');
      this.timer = setTimeout(() => this.connect(), 250 + Math.random() * 1000);
    } else if (typeof message.id === 'number') {
      this.options.onNotification?.(message as unknown as StreamNotification);
    }
  }

  /** A 401 means signed out; anything else (network, 5xx, 429) is retried with a growing delay. */
  private async recover(): Promise<void> {
    if (this.stopped) return;
    this.options.onStatus?.('reconnecting');
    if ((await this.probe()) === 401) {
      this.stop('signed-out');
      this.options.onSignedOut?.('unauthenticated');
      return;
    }
    const maxMs = this.options.backoff?.maxMs ?? 30_000;
    const delay = this.delayMs * (0.5 + Math.random() / 2);
    this.delayMs = Math.min(maxMs, this.delayMs * 2);
    this.timer = setTimeout(() => this.connect(), delay);
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
}
