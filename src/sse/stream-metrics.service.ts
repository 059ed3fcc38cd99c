import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';

/** What carries a stream: an SSE response, or a GraphQL subscription's WebSocket. */
export type StreamTransport = 'sse' | 'websocket';

/** What the stream gauges read from this instance's open streams. */
export interface OpenStreams {
  count(transport: StreamTransport): number;
  /** SSE streams and WebSockets together, as the per-user cap counts them. */
  maxPerUser(): number;
}

/**
 * The stream rows of /metrics: open SSE streams and WebSocket connections now, and what they
 * delivered, dropped and replayed.
 */
@Injectable()
export class StreamMetrics {
  readonly delivered: Counter;
  readonly dropped: Counter;
  readonly replays: Counter;
  readonly closedByRecheck: Counter;
  private open: OpenStreams = { count: () => 0, maxPerUser: () => 0 };

  constructor(metrics: MetricsService) {
    const registers = [metrics.registry];
    const open = () => this.open;
    new Gauge({
      name: 'tessera_sse_open_streams',
      help: 'SSE streams open on this instance',
      registers,
      collect(this: Gauge) {
        this.set(open().count('sse'));
      },
    });
    new Gauge({
      name: 'tessera_ws_open_connections',
      help: 'GraphQL WebSocket connections open on this instance (authenticated)',
      registers,
      collect(this: Gauge) {
        this.set(open().count('websocket'));
      },
    });
    new Gauge({
      name: 'tessera_sse_streams_per_user_max',
      help: 'The most SSE streams and WebSockets one user has open on this instance',
      registers,
      collect(this: Gauge) {
        this.set(open().maxPerUser());
      },
    });
    this.delivered = new Counter({
      name: 'tessera_sse_events_delivered_total',
      help: 'Notifications and events sent on SSE streams and WebSockets (heartbeats not counted)',
      registers,
    });
    this.dropped = new Counter({
      name: 'tessera_sse_events_dropped_total',
      help: 'Messages on notification channels dropped because they were not valid JSON',
      registers,
    });
    this.replays = new Counter({
      name: 'tessera_sse_replays_total',
      help: 'Reconnections with Last-Event-ID, or subscriptions with after, that replayed stored notifications',
      registers,
    });
    this.closedByRecheck = new Counter({
      name: 'tessera_sse_closed_by_session_recheck_total',
      help: 'Streams and WebSockets closed by the periodic session re-check: their revocation message was lost',
      registers,
    });
  }

  /** Where the gauges read from: the registry of this instance's streams. */
  observe(open: OpenStreams): void {
    this.open = open;
  }
}
