import { type Server as HttpServer, STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  type BeforeApplicationShutdown,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { GraphQLSchemaHost } from '@nestjs/graphql';
import cookieParser from 'cookie-parser';
import type { Application, Request } from 'express';
import type { GraphQLError } from 'graphql';
import { CloseCode, handleProtocols, makeServer, MessageType, type Server } from 'graphql-ws';
import { type WebSocket, WebSocketServer } from 'ws';
import { OriginPolicy } from '../auth/origin-policy.service';
import { AppConfig } from '../config/app-config';
import { formatGraphQLError } from '../graphql/graphql-error.formatter';
import { checkSocketOperation } from '../graphql/socket-operation';
import {
  NotificationSockets,
  SocketCloseCode,
  type SocketConnection,
} from './notification-socket.service';
import type { SocketCredentials } from './stream-auth.service';
import { StreamRegistry } from './stream-registry.service';

const GRAPHQL_PATH = '/graphql';
/**
 * The largest protocol message accepted; a bigger one closes the socket (1009). Subscribing takes a
 * few hundred bytes; ws would otherwise buffer up to 100 MiB per message.
 */
const MAX_MESSAGE_BYTES = 16 * 1024;
/** How long a client has to send `connection_init` before the socket closes with 4408. */
const CONNECTION_INIT_TIMEOUT_MS = 3000;
/** WebSocket pings, so that a dead peer is noticed (no pong by the next one) and its slot freed. */
const KEEP_ALIVE_MS = 12_000;
/** What only a server sends: graphql-ws would take one from a client for an internal error. */
const SERVER_MESSAGES = new Set<string>([
  MessageType.ConnectionAck,
  MessageType.Next,
  MessageType.Error,
]);
/** At shutdown, how long clients told to reconnect get to close before their sockets are cut. */
const SHUTDOWN_GRACE_MS = 2000;

/** What each graphql-ws context carries besides the socket and its upgrade request. */
interface SocketExtra {
  socket: WebSocket;
  request: Request;
  connection?: SocketConnection;
}

/** The GraphQL context of an operation over WebSocket (the subscription resolver reads `socket`). */
export interface SocketContext {
  socket: SocketConnection;
}

/**
 * GraphQL subscriptions over WebSocket (`graphql-transport-ws`, README "Real time over WebSocket")
 * on the HTTP server's /graphql, with the schema @nestjs/graphql built. It is attached here rather
 * than through the GraphQL module's `subscriptions` option, which accepts every upgrade and leaves
 * ws's 100 MiB message limit: here an upgrade from a foreign Origin is refused with 403 before a
 * socket exists, messages are capped, and the operation passes the checks of POST /graphql. The
 * socket side is graphql-ws's own `use/ws` adapter, adjusted: what a client should not send closes
 * the socket with 4400 (not as an internal error), and failures go to the log, not to stderr.
 */
@Injectable()
export class NotificationSocketServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(NotificationSocketServer.name);
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_MESSAGE_BYTES,
    handleProtocols: (protocols) => handleProtocols(protocols),
  });
  private readonly readCookies = cookieParser();

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly schemaHost: GraphQLSchemaHost,
    private readonly sockets: NotificationSockets,
    private readonly origins: OriginPolicy,
    private readonly registry: StreamRegistry,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    // An application context (the CLI) has no HTTP server to serve sockets on.
    if (!this.adapterHost.httpAdapter) return;
    const { schema } = this.schemaHost;
    const maxDepth = this.config.graphql.maxDepth;
    const server = makeServer<SocketCredentials, SocketExtra>({
      schema,
      connectionInitWaitTimeout: CONNECTION_INIT_TIMEOUT_MS,
      onConnect: async (ctx) => {
        const connection = await this.sockets.connect(
          ctx.extra.socket,
          ctx.extra.request,
          ctx.connectionParams,
        );
        if (!connection) return false;
        ctx.extra.connection = connection;
        return true;
      },
      onSubscribe: (ctx, _id, payload) => {
        const checked = checkSocketOperation(schema, payload, maxDepth);
        if (isErrors(checked)) return checked;
        const contextValue: SocketContext = { socket: ctx.extra.connection! };
        return { schema, ...checked, contextValue };
      },
      // The formatting of POST /graphql: Nest exceptions keep their message and get their code;
      // anything unexpected is logged and answered without detail.
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: result.errors.map(format) } : undefined,
      onError: (_ctx, _id, _payload, errors) => errors.map(format),
    });
    this.wss.on('connection', (socket: WebSocket, request: Request) =>
      this.serve(server, socket, request),
    );
    const http = this.adapterHost.httpAdapter.getHttpServer() as HttpServer;
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.upgrade(req, socket, head),
    );
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // A client that resets the connection now must not raise an unhandled 'error'.
    socket.on('error', () => socket.destroy());
    const path = (req.url ?? '').split('?')[0];
    if (path !== GRAPHQL_PATH) return refuseUpgrade(socket, 404, 'Not Found');
    if (this.registry.closing) {
      return refuseUpgrade(socket, 503, 'Shutting down; reconnect to another instance');
    }
    const request = this.asExpressRequest(req);
    const origin = this.origins.originOf(request);
    if (origin !== undefined && !this.origins.allows(origin, request)) {
      return refuseUpgrade(socket, 403, `Origin ${origin} is not allowed`);
    }
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      this.wss.emit('connection', ws, request);
    });
  }

  private serve(server: Server<SocketExtra>, socket: WebSocket, request: Request): void {
    // ws closes the socket itself on a protocol violation (1009 too big, 1007 bad UTF-8…).
    socket.on('error', (error) => this.logger.debug(`WebSocket closed: ${error.message}`));
    let alive = true;
    socket.on('pong', () => (alive = true));
    const keepAlive = setInterval(() => {
      if (!alive) return socket.terminate();
      alive = false;
      socket.ping();
    }, KEEP_ALIVE_MS);
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(data, (error) => (error ? reject(error) : resolve()));
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on('message', (data) => void this.receive(socket, String(data), handle)),
      },
      { socket, request },
    );
    socket.once('close', (code, reason) => {
      clearInterval(keepAlive);
      closed(code, String(reason)).catch((error: Error) =>
        this.logger.warn(`WebSocket teardown failed: ${error.message}`),
      );
    });
  }

  private async receive(
    socket: WebSocket,
    data: string,
    handle: (data: string) => Promise<void>,
  ): Promise<void> {
    if (isServerMessage(data)) {
      return socket.close(CloseCode.BadRequest, 'Invalid message received');
    }
    try {
      await handle(data);
    } catch (error) {
      this.logger.error(`WebSocket message handling failed: ${(error as Error).message}`);
      socket.close(SocketCloseCode.internalError, 'Internal server error');
    }
  }

  /**
   * The upgrade request as Express would see it, so that its client address (under TRUST_PROXY),
   * origin and cookies are read exactly as for any other request: Express gives every request this
   * prototype, and cookie-parser fills `cookies` without touching a response.
   */
  private asExpressRequest(req: IncomingMessage): Request {
    const app = this.adapterHost.httpAdapter.getInstance<Application & { request: object }>();
    Object.setPrototypeOf(req, app.request);
    const request = req as Request;
    this.readCookies(request, undefined as never, () => undefined);
    return request;
  }

  /** Every socket is told to reconnect (4000), then cut if it has not closed within a grace period. */
  async beforeApplicationShutdown(): Promise<void> {
    const open = [...this.wss.clients];
    for (const socket of open) socket.close(SocketCloseCode.reconnect, 'reconnect');
    await Promise.all(open.map((socket) => closed(socket, SHUTDOWN_GRACE_MS)));
    await new Promise((resolve) => this.wss.close(resolve));
  }
}

function isErrors(value: unknown): value is readonly GraphQLError[] {
  return Array.isArray(value);
}

function isServerMessage(data: string): boolean {
  try {
    const message: unknown = JSON.parse(data);
    return (
      typeof message === 'object' &&
      message !== null &&
      SERVER_MESSAGES.has((message as { type?: unknown }).type as string)
    );
  } catch {
    return false;
  }
}

function format(error: GraphQLError) {
  return formatGraphQLError(error.toJSON(), error);
}

function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ statusCode: status, message });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      'Connection: close\r\nContent-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** Resolves when the socket closed, or after `graceMs`, having cut it. */
function closed(socket: WebSocket, graceMs: number): Promise<void> {
  if (socket.readyState === socket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.terminate();
      resolve();
    }, graceMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
