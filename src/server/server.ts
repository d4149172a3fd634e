import { readFileSync } from 'node:fs';
import { type ConnectionOptions, type NatsConnection, type Subscription as NatsSub, connect, createInbox, credsAuthenticator, nkeyAuthenticator } from 'nats';
import type { ServerOptions } from '../config/options.js';
import { FtMember } from '../ft/ft.js';
import type { Logger } from '../log.js';
import type { ServerInfo } from '../proto/codec.js';
import { pb } from '../proto/codec.js';
import type { Store } from '../stores/store.js';
import { ChannelManager } from './channels.js';
import { nowNs } from './clock.js';
import { ClientRegistry } from './client.js';
import { ConnectionManager } from './connections.js';
import type { ServerContext } from './context.js';
import { Counters } from './counters.js';
import { Delivery } from './delivery.js';
import { InactivityReaper } from './inactivity.js';
import { InboundParser } from './inbound.js';
import { Outbox } from './outbox.js';
import { PublishPipeline } from './publish.js';
import { rebuildFromStore } from './recovery.js';
import { SubscriptionManager } from './subscriptions.js';

export type ServerState = 'STANDALONE' | 'FT_ACTIVE' | 'FT_STANDBY' | 'FAILED' | 'SHUTDOWN';

/** How long the start-up probe waits for another server answering on our discovery subject. */
const STANDALONE_PROBE_MS = 250;

/** The subjects a new store gets; a recovered store keeps the ones it has. */
function freshServerInfo(opts: ServerOptions): ServerInfo {
  const id = opts.clusterId;
  return {
    ClusterID: id,
    Discovery: `${opts.discoverPrefix}.${id}`,
    Publish: `_STAN.pub.${id}`,
    Subscribe: `_STAN.sub.${id}`,
    Unsubscribe: `_STAN.unsub.${id}`,
    Close: `_STAN.close.${id}`,
    SubClose: `_STAN.subclose.${id}`,
    AcksSubs: `_STAN.ack.${id}`,
    NodeID: '',
  };
}

/**
 * How the server connects to NATS: credentials from the NATS flags, else from the streaming settings (username,
 * password, token, nkey seed, credentials file), and TLS from the streaming tls settings.
 */
export function natsConnectionOptions(opts: ServerOptions, url: string, name: string): ConnectionOptions {
  const co: ConnectionOptions = {
    servers: url,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: true,
  };
  const user = opts.natsUser || opts.username;
  const pass = opts.natsPass || opts.password;
  const token = opts.natsToken || opts.token;
  if (user) co.user = user;
  if (pass) co.pass = pass;
  if (token) co.token = token;
  if (opts.nkeySeedFile) co.authenticator = nkeyAuthenticator(new TextEncoder().encode(readFileSync(opts.nkeySeedFile, 'utf8').trim()));
  if (opts.natsCredentials) co.authenticator = credsAuthenticator(readFileSync(opts.natsCredentials));
  if (opts.secure || opts.tlsClientCert || opts.tlsClientCa) {
    co.tls = {
      ...(opts.tlsClientCert ? { certFile: opts.tlsClientCert } : {}),
      ...(opts.tlsClientKey ? { keyFile: opts.tlsClientKey } : {}),
      ...(opts.tlsClientCa ? { caFile: opts.tlsClientCa } : {}),
      ...(opts.tlsServerName ? { servername: opts.tlsServerName } : {}),
      ...(opts.tlsSkipVerify || (opts.secure && !opts.tlsClientCa) ? { rejectUnauthorized: false } : {}),
    };
  }
  return co;
}

/** One NATS Streaming server: the STAN protocol over a NATS connection, backed by a Store. */
export class StanServer {
  state: ServerState = 'STANDALONE';
  readonly startTime = new Date();
  readonly serverId = createInbox().slice('_INBOX.'.length);
  readonly counters = new Counters();
  private ctx!: ServerContext;
  private delivery!: Delivery;
  private publish!: PublishPipeline;
  private inbound!: InboundParser;
  private subscriptions!: SubscriptionManager;
  private connections!: ConnectionManager;
  private reaper!: InactivityReaper;
  private readonly natsSubs: NatsSub[] = [];
  private control: Promise<void> = Promise.resolve();
  private stopping: Promise<void> | undefined;
  private ft: FtMember | undefined;
  private connecting: Promise<NatsConnection> | undefined;
  private nc: NatsConnection | undefined;
  /** Seconds from getting the store lock to serving clients, for the last activation. */
  activationSeconds = 0;
  /** Called when the server can no longer serve safely (store lock lost, another active server): the CLI exits. */
  onFatal: (err: Error) => void = () => {};

  constructor(
    readonly opts: ServerOptions,
    readonly store: Store,
    readonly log: Logger,
  ) {}

  get context(): ServerContext {
    return this.ctx;
  }

  /**
   * Connects to NATS, recovers the store and starts serving. A standalone server locks and recovers its store while the
   * connection is being made; an FT member needs the connection first, to hear the active server.
   */
  async start(natsUrl: string): Promise<void> {
    this.store.onFatal = (err) => this.fail(err);
    const connecting = connect(natsConnectionOptions(this.opts, natsUrl, `_NSS-${this.opts.clusterId}-general`)).then((nc) => {
      this.nc = nc;
      this.inbound = InboundParser.install(nc, (err) => this.log.error({ err }, 'a message handler failed'));
      this.watchNats(nc);
      return nc;
    });
    this.connecting = connecting;
    if (this.opts.ftGroup) {
      const nc = await connecting;
      this.state = 'FT_STANDBY';
      const subject = `_STAN.ft.${this.opts.clusterId}.${this.opts.ftGroup}`;
      this.ft = new FtMember(nc, subject, this.serverId, this.store, this.log, (err) => this.fail(err));
      await this.ft.waitUntilActive();
      if (this.stopping) return;
    } else {
      // Awaited once the store is recovered; a failure to connect is reported then.
      connecting.catch(() => undefined);
      if (this.store.type === 'FILE' && !(await this.store.getExclusiveLock()))
        throw new Error('the store directory is in use by another server (run both with --ft_group for an active/standby pair)');
    }
    const activatedAt = Date.now();
    this.store.setLimits(this.opts.storeLimits);
    const recovered = await this.store.recover();
    const nc = await connecting;
    // Stopped while recovering or waiting for NATS: the store is closed, its lock released.
    if (this.stopping) return;
    let info: ServerInfo;
    if (recovered) {
      info = recovered.info;
      if (info.ClusterID !== this.opts.clusterId)
        throw new Error(`cluster ID "${this.opts.clusterId}" does not match recovered value of "${info.ClusterID}"`);
    } else {
      info = freshServerInfo(this.opts);
      await this.store.init(info);
    }
    const clients = new ClientRegistry();
    const channels = new ChannelManager(this.store, this.log);
    this.ctx = { opts: this.opts, log: this.log, store: this.store, nc, out: new Outbox(nc), inbound: this.inbound, info, clients, channels, counters: this.counters };
    this.delivery = new Delivery(this.ctx);
    this.publish = new PublishPipeline(this.ctx, this.delivery);
    this.reaper = new InactivityReaper(this.ctx, (work) => this.serializeAfterPublishes(work));
    channels.onCreated = (channel) => this.reaper.watch(channel);
    this.subscriptions = new SubscriptionManager(this.ctx, this.delivery, this.reaper);
    this.connections = new ConnectionManager(this.ctx, this.subscriptions, this.delivery, (work) => this.serialize(work));
    const online = recovered ? await rebuildFromStore(this.ctx, recovered) : [];
    await this.ensureStandalone(nc, info);
    this.listen(nc, info);
    for (const sub of online) this.subscriptions.listenForAcks(sub);
    await nc.flush();
    for (const client of clients.all()) this.connections.startHeartbeats(client);
    for (const sub of online) if (sub.pending.size > 0) this.delivery.armRedelivery(sub, 1);
    for (const channel of channels.all()) {
      this.delivery.onNewMessages(channel);
      this.reaper.watch(channel);
    }
    this.activationSeconds = (Date.now() - activatedAt) / 1000;
    if (this.ft) {
      this.ft.activate(nowNs());
      this.state = 'FT_ACTIVE';
      this.log.info({ recoveryMs: Date.now() - activatedAt }, 'ft: server is active');
    }
    this.log.info(
      { clusterId: info.ClusterID, store: this.store.type, clients: clients.size, channels: channels.size, discovery: info.Discovery },
      'Streaming Server is ready',
    );
  }

  /** Messages and bytes stored over all channels. */
  totals(): { msgs: number; bytes: number } {
    let msgs = 0;
    let bytes = 0;
    for (const channel of this.ctx.channels.all()) {
      const st = channel.store.msgs.state();
      msgs += st.msgs;
      bytes += st.bytes;
    }
    return { msgs, bytes };
  }

  /** Subscriptions over all channels, offline durables and queue shadows included, as serverz counts them. */
  subscriptionCount(): number {
    let n = 0;
    for (const channel of this.ctx.channels.all()) n += channel.subs.size;
    return n;
  }

  lockStatus(): { held: boolean; refreshedAt: number; attempts: number; failures: number } {
    const lock = this.store.lockState?.() ?? { held: this.state !== 'FT_STANDBY', refreshedAt: 0 };
    return { ...lock, attempts: this.ft?.lockAttempts ?? 0, failures: this.ft?.lockFailures ?? 0 };
  }

  /** Refuses to start next to another server answering on the same discovery subject, as the Go server does. */
  private async ensureStandalone(nc: NatsConnection, info: ServerInfo): Promise<void> {
    const probe = pb.ConnectRequest.encode({
      clientID: info.ClusterID,
      heartbeatInbox: createInbox(),
      protocol: 0,
      connID: new Uint8Array(0),
      pingInterval: 0,
      pingMaxOut: 0,
    });
    let answer: Uint8Array;
    try {
      answer = (await nc.request(info.Discovery, probe, { timeout: STANDALONE_PROBE_MS })).data;
    } catch {
      return;
    }
    const resp = pb.ConnectResponse.decode(answer);
    if (resp.closeRequests) nc.publish(resp.closeRequests, pb.CloseRequest.encode({ clientID: info.ClusterID }));
    throw new Error(`discovered another streaming server with cluster ID "${info.ClusterID}"`);
  }

  private listen(nc: NatsConnection, info: ServerInfo): void {
    const on = (subject: string, handler: (data: Uint8Array, reply: string) => void) => {
      this.natsSubs.push(nc.subscribe(subject, { callback: (_err, msg) => handler(msg.data, msg.reply ?? '') }));
    };
    on(info.Discovery, (data, reply) => void this.guard('connect', this.connections.connect(data, reply)));
    this.natsSubs.push(this.inbound.subscribe(nc, `${info.Publish}.>`, (data, reply) => this.publish.receive(data, reply)));
    on(info.Subscribe, (data, reply) => void this.serialize(() => this.subscriptions.subscribe(data, reply)));
    on(info.Unsubscribe, (data, reply) => void this.serializeAfterPublishes(() => this.subscriptions.unsubscribe(data, reply, false)));
    on(info.SubClose, (data, reply) => void this.serializeAfterPublishes(() => this.subscriptions.unsubscribe(data, reply, true)));
    on(info.Close, (data, reply) => void this.serializeAfterPublishes(() => this.connections.close(data, reply)));
    on(`${info.Discovery}.pings`, (data, reply) => this.connections.ping(data, reply));
  }

  /** Control requests run one at a time, in arrival order. */
  private serialize(work: () => Promise<void>): Promise<void> {
    const run = this.control.then(() => this.guard('request', work()));
    this.control = run;
    return run;
  }

  /** Closes and unsubscribes act only once the publishes received before them are stored and delivered. */
  private serializeAfterPublishes(work: () => Promise<void>): Promise<void> {
    return this.serialize(async () => {
      await this.publish.drain();
      await work();
    });
  }

  private async guard(what: string, work: Promise<void>): Promise<void> {
    try {
      await work;
    } catch (err) {
      this.log.error({ err }, `unexpected error handling a ${what}`);
    }
  }

  private watchNats(nc: NatsConnection): void {
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') this.log.warn({ server: s.data }, 'disconnected from NATS');
        else if (s.type === 'reconnect') this.log.info({ server: s.data }, 'reconnected to NATS');
        else if (s.type === 'error') this.log.error({ err: s.data }, 'NATS connection error');
      }
    })();
  }

  /**
   * Stops serving at once, without acking anything more: the store lock is gone, or another server is active. What
   * was acked is stored; what was not is the publisher's to resend.
   */
  private fail(err: Error): void {
    if (this.state === 'FAILED' || this.state === 'SHUTDOWN') return;
    this.log.fatal({ err }, 'stopping: this server can no longer serve safely');
    this.state = 'FAILED';
    this.ft?.stop();
    for (const s of this.natsSubs) s.unsubscribe();
    if (this.ctx) {
      this.publish.abandon();
      this.delivery.stop();
      for (const channel of this.ctx.channels.all()) for (const sub of channel.subs) sub.ackSub?.unsubscribe();
    }
    this.onFatal(err);
  }

  /** Stops taking work, lets what was received finish, flushes and closes the store, and closes the NATS connection. */
  shutdown(): Promise<void> {
    this.stopping ??= this.doShutdown();
    return this.stopping;
  }

  private async doShutdown(): Promise<void> {
    this.log.info('Shutting down.');
    this.state = 'SHUTDOWN';
    this.ft?.stop();
    if (this.ctx) {
      for (const s of this.natsSubs) s.unsubscribe();
      await this.publish.stop();
      await this.control;
      this.connections.stopHeartbeats();
      this.reaper.stop();
      this.delivery.stop();
      for (const channel of this.ctx.channels.all()) {
        for (const sub of channel.subs) {
          this.delivery.stopRedelivery(sub);
          sub.ackSub?.unsubscribe();
        }
        await channel.store.subs.flush();
      }
    }
    await this.store.close();
    this.ctx?.out.flush();
    const nc = this.nc;
    if (nc) {
      if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
    } else {
      // Still connecting (NATS down at start): the attempt goes on until it connects, then that connection is closed.
      void this.connecting?.then((late) => late.close(), () => undefined);
    }
  }
}
