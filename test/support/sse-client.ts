import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders } from 'node:http';
import { EventSource } from 'eventsource';
import { waitFor } from './wait-for';

// Two ways to read an event stream in tests: `openRawStream` sees the status, headers and bytes
// exactly as sent (node:http, no client logic in between); `connectEventSource` is a real
// EventSource client, for what a browser would do with the stream. Everything opened here is
// tracked, so that one `closeAllStreams()` in afterEach leaves no socket to hang the suite.

/** How long `until` waits by default. */
const DEFAULT_TIMEOUT_MS = 5_000;

/** One event-stream block, as the bytes said it (SSE fields; unknown fields are kept in `raw`). */
export interface SseFrame {
  /** The block's lines joined with `\n`, without the blank line that ends it. */
  raw: string;
  id?: string;
  event?: string;
  retry?: number;
  /** The data lines joined with `\n`, as EventSource would deliver them. */
  data?: string;
  /** The text of each `:` comment line, leading space removed. */
  comments: string[];
  /** Date.now() when the block was complete. */
  at: number;
}

/** A JSON message of the stream: the fields tests read are typed, the rest is unknown. */
export interface StreamMessage {
  type?: string;
  /** A stored notification's row id. */
  id?: number;
  user_id?: number;
  payload?: Record<string, unknown>;
  [field: string]: unknown;
}

/** Credentials and headers for a stream request. */
export interface StreamAuth {
  /** A JWT, sent as `Authorization: Bearer`. */
  bearer?: string;
  /** `name=value`, sent as the Cookie header. */
  cookie?: string;
  headers?: Record<string, string>;
}

interface Closable {
  close(): void;
}

const open = new Set<Closable>();

/** Closes every stream the helpers opened; call it in afterEach. */
export function closeAllStreams(): void {
  for (const stream of [...open]) stream.close();
}

function headersOf(auth: StreamAuth): Record<string, string> {
  return {
    ...(auth.bearer !== undefined && { Authorization: `Bearer ${auth.bearer}` }),
    ...(auth.cookie !== undefined && { Cookie: auth.cookie }),
    ...auth.headers,
  };
}

/** Splits complete blocks off `buffer` (SSE parsing rules: a blank line ends a block). */
function takeFrames(buffer: string): { frames: Omit<SseFrame, 'at'>[]; rest: string } {
  const frames: Omit<SseFrame, 'at'>[] = [];
  let lines: string[] = [];
  let rest = buffer;
  for (;;) {
    const end = rest.search(/\r\n|\r|\n/);
    if (end === -1) break;
    const line = rest.slice(0, end);
    rest = rest.slice(end + (rest.startsWith('\r\n', end) ? 2 : 1));
    if (line !== '') {
      lines.push(line);
      continue;
    }
    if (lines.length > 0) frames.push(frameOf(lines));
    lines = [];
  }
  // Lines of an unfinished block stay in the buffer until their blank line arrives.
  return { frames, rest: lines.length > 0 ? `${lines.join('\n')}\n${rest}` : rest };
}

function frameOf(lines: string[]): Omit<SseFrame, 'at'> {
  const frame: Omit<SseFrame, 'at'> = { raw: lines.join('\n'), comments: [] };
  const data: string[] = [];
  for (const line of lines) {
    if (line.startsWith(':')) {
      frame.comments.push(line.slice(1).replace(/^ /, ''));
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') data.push(value);
    else if (field === 'id') frame.id = value;
    else if (field === 'event') frame.event = value;
    else if (field === 'retry') frame.retry = Number(value);
  }
  if (data.length > 0) frame.data = data.join('\n');
  return frame;
}

/**
 * A stream request read at the byte level. The response is collected as it arrives: `body` (every
 * byte, as text), `frames` (the parsed blocks) and `endedAt` (when the server ended the response).
 */
export class RawStream implements Closable {
  body = '';
  frames: SseFrame[] = [];
  endedAt?: number;
  private pending = '';

  constructor(
    private readonly request: ClientRequest,
    readonly status: number,
    readonly headers: IncomingHttpHeaders,
    /** Date.now() when the response headers arrived. */
    readonly openedAt: number,
  ) {}

  /** True once the server has ended the response (or the socket went). */
  get ended(): boolean {
    return this.endedAt !== undefined;
  }

  /** The parsed `data` of each frame that has one, in order (JSON, as the stream carries). */
  get messages(): StreamMessage[] {
    return this.dataFrames.map((f) => JSON.parse(f.data!) as StreamMessage);
  }

  /** The frames that carry data (not heartbeats). */
  get dataFrames(): SseFrame[] {
    return this.frames.filter((f) => f.data !== undefined);
  }

  /** Resolves when `predicate` holds over the frames received so far; rejects at the deadline. */
  async until(
    predicate: (frames: SseFrame[]) => boolean,
    message = 'frames',
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<SseFrame[]> {
    await waitFor(() => predicate(this.frames), { message, timeoutMs });
    return this.frames;
  }

  /** Resolves with the first data frame whose JSON satisfies `predicate`. */
  async untilMessage(
    predicate: (message: StreamMessage) => boolean,
    message = 'message',
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<SseFrame> {
    const found = (frames: SseFrame[]) =>
      frames.find((f) => f.data !== undefined && predicate(JSON.parse(f.data)));
    await this.until((frames) => found(frames) !== undefined, message, timeoutMs);
    return found(this.frames)!;
  }

  /** Resolves when the server has ended the response; rejects at the deadline. */
  async untilEnded(message = 'end of the response', timeoutMs = DEFAULT_TIMEOUT_MS) {
    await waitFor(() => this.ended, { message, timeoutMs });
  }

  /** The whole body of a response that is not a stream (an error), parsed as JSON. */
  async json(): Promise<unknown> {
    await this.untilEnded('end of the error body');
    return JSON.parse(this.body);
  }

  /** Drops the connection, as a client going away does. */
  close(): void {
    open.delete(this);
    this.request.destroy();
  }

  /** @internal */
  receive(chunk: string): void {
    this.body += chunk;
    const { frames, rest } = takeFrames(this.pending + chunk);
    this.pending = rest;
    const at = Date.now();
    for (const frame of frames) this.frames.push({ ...frame, at });
  }

  /** @internal */
  end(): void {
    this.endedAt ??= Date.now();
  }
}

/**
 * Opens `url` with node:http (a socket of its own, no keep-alive pool) and resolves once the
 * response headers are in; the body keeps arriving into the returned RawStream.
 */
export function openRawStream(url: string | URL, auth: StreamAuth = {}): Promise<RawStream> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      agent: false,
      headers: { Accept: 'text/event-stream', ...headersOf(auth) },
    });
    req.on('response', (res) => {
      const stream = new RawStream(req, res.statusCode ?? 0, res.headers, Date.now());
      open.add(stream);
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => stream.receive(chunk));
      res.on('end', () => stream.end());
      res.on('close', () => stream.end());
      res.on('error', () => stream.end());
      resolve(stream);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A message as an EventSource delivered it to `onmessage`. */
export interface ReceivedMessage {
  data: string;
  /** The event's id, or the last one seen before it (EventSource semantics). */
  lastEventId: string;
  /** `data` parsed; undefined when it is not JSON. */
  json: StreamMessage | undefined;
  at: number;
}

/** A real EventSource client (the `eventsource` package) whose messages and errors are collected. */
export class EventSourceCollector implements Closable {
  readonly source: EventSource;
  readonly messages: ReceivedMessage[] = [];
  /** Each error event: `code` is the HTTP status when the server refused the connection. */
  readonly errors: { code?: number; message?: string }[] = [];
  opens = 0;

  constructor(url: string | URL, auth: StreamAuth = {}) {
    const headers = headersOf(auth);
    this.source = new EventSource(url, {
      fetch: (input, init) =>
        fetch(input, { ...init, headers: { ...(init.headers as object), ...headers } }),
    });
    this.source.onopen = () => this.opens++;
    this.source.onmessage = (event) => {
      let json: StreamMessage | undefined;
      try {
        json = JSON.parse(event.data) as StreamMessage;
      } catch {
        json = undefined;
      }
      this.messages.push({
        data: event.data,
        lastEventId: event.lastEventId,
        json,
        at: Date.now(),
      });
    };
    this.source.onerror = (event) => this.errors.push({ code: event.code, message: event.message });
    open.add(this);
  }

  /** Resolves when `predicate` holds over the messages so far; rejects at the deadline. */
  async until(
    predicate: (messages: ReceivedMessage[]) => boolean,
    message = 'messages',
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<ReceivedMessage[]> {
    await waitFor(() => predicate(this.messages), { message, timeoutMs });
    return this.messages;
  }

  /** Resolves with the first message whose JSON satisfies `predicate`. */
  async untilMessage(
    predicate: (json: StreamMessage | undefined) => boolean,
    message = 'message',
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<ReceivedMessage> {
    const found = (messages: ReceivedMessage[]) => messages.find((m) => predicate(m.json));
    await this.until((messages) => found(messages) !== undefined, message, timeoutMs);
    return found(this.messages)!;
  }

  close(): void {
    open.delete(this);
    this.source.close();
  }
}

export function connectEventSource(url: string | URL, auth: StreamAuth = {}): EventSourceCollector {
  return new EventSourceCollector(url, auth);
}
