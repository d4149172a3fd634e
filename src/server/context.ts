import type { NatsConnection } from 'nats';
import type { ServerOptions } from '../config/options.js';
import type { Logger } from '../log.js';
import type { ServerInfo } from '../proto/codec.js';
import type { Store } from '../stores/store.js';
import type { ChannelManager } from './channels.js';
import type { ClientRegistry } from './client.js';
import type { Counters } from './counters.js';
import type { InboundParser } from './inbound.js';
import type { Outbox } from './outbox.js';

/** What the server's parts share: one NATS connection, one store, the clients and channels. */
export interface ServerContext {
  readonly opts: ServerOptions;
  readonly log: Logger;
  readonly store: Store;
  readonly nc: NatsConnection;
  /** Where every publish of the server goes, batched per event-loop turn. */
  readonly out: Outbox;
  /** Subscribes the handlers that take every publish and ack straight from the socket bytes. */
  readonly inbound: InboundParser;
  readonly info: ServerInfo;
  readonly clients: ClientRegistry;
  readonly channels: ChannelManager;
  readonly counters: Counters;
}
