import { createServer, type Socket, connect } from 'node:net';

/**
 * A loopback TCP proxy to a service, which the test can cut: every connection through it is
 * dropped and new ones are refused until `restore()`. An instance whose REDIS_URL points here
 * is cut off from Redis while the others, connected directly, are not: a network partition.
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private cut = false;
  private readonly server = createServer((client) => this.relay(client));
  port = 0;

  private constructor(private readonly targetPort: number) {}

  static async to(targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetPort);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    const address = proxy.server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no port');
    proxy.port = address.port;
    return proxy;
  }

  /** Drops every connection through the proxy and refuses new ones. */
  cutOff(): void {
    this.cut = true;
    for (const socket of this.sockets) socket.destroy();
  }

  restore(): void {
    this.cut = false;
  }

  async close(): Promise<void> {
    this.cutOff();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: Socket): void {
    if (this.cut) {
      client.destroy();
      return;
    }
    const upstream = connect(this.targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
    client.pipe(upstream).pipe(client);
  }
}
