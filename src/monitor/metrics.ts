import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StanServer } from '../server/server.js';
import type { Subscription } from '../server/subscription.js';

export interface MetricsOptions {
  /** Per-subscription series can be many; large deployments turn them off. */
  perSubscription: boolean;
}

type Srv = () => StanServer | undefined;

const SUB_LABELS = ['channel', 'client_id', 'durable_name', 'queue_name'] as const;
/** The labels prometheus-nats-exporter put on its streaming subscription series, kept so that dashboards still work. */
const NSS_SUB_LABELS = ['server', 'channel', 'client_id', 'inbox', 'queue_name', 'is_durable', 'is_offline'] as const;

function subLabels(sub: Subscription) {
  return { channel: sub.channel.name, client_id: sub.state.clientID, durable_name: sub.state.durableName, queue_name: sub.state.qGroup };
}

function nssSubLabels(server: string, sub: Subscription) {
  return {
    server,
    channel: sub.channel.name,
    client_id: sub.state.clientID,
    inbox: sub.state.inbox,
    queue_name: sub.state.qGroup,
    is_durable: String(sub.isDurable),
    is_offline: String(sub.isOffline),
  };
}

/** A gauge whose value is read from the server at scrape time. */
function gauge(registry: Registry, name: string, help: string, read: (s: StanServer) => number, srv: Srv): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      const s = srv();
      if (s?.context) this.set(read(s));
    },
  });
}

/** A counter mirrored from the server's own totals at scrape time. */
function counter(registry: Registry, name: string, help: string, read: (s: StanServer) => number, srv: Srv): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const s = srv();
      if (!s?.context) return;
      this.reset();
      this.inc(read(s));
    },
  });
}

/**
 * The /metrics registry: process metrics, the server's traffic counters, lock and FT state, per-channel and
 * per-subscription lag, and the nss_* series prometheus-nats-exporter used to derive from the monitoring endpoints.
 */
export function createMetrics(srv: Srv, opts: MetricsOptions): { registry: Registry; storeFlush: Histogram } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const c = (s: StanServer) => s.context.counters;

  gauge(registry, 'stan_clients', 'Registered clients', (s) => s.context.clients.size, srv);
  gauge(registry, 'stan_channels', 'Channels', (s) => s.context.channels.size, srv);
  gauge(registry, 'stan_subscriptions', 'Subscriptions, offline durables included', (s) => s.subscriptionCount(), srv);
  counter(registry, 'stan_in_msgs_total', 'Messages received from publishers', (s) => c(s).inMsgs, srv);
  counter(registry, 'stan_in_bytes_total', 'Bytes received from publishers', (s) => c(s).inBytes, srv);
  counter(registry, 'stan_out_msgs_total', 'Messages sent to subscribers', (s) => c(s).outMsgs, srv);
  counter(registry, 'stan_out_bytes_total', 'Bytes sent to subscribers', (s) => c(s).outBytes, srv);
  counter(registry, 'stan_publishes_total', 'Messages stored and acknowledged', (s) => c(s).publishes, srv);
  counter(registry, 'stan_deliveries_total', 'Deliveries to subscribers, redeliveries included', (s) => c(s).deliveries, srv);
  counter(registry, 'stan_acks_total', 'Acks received from subscribers', (s) => c(s).acks, srv);
  counter(registry, 'stan_redeliveries_total', 'Messages redelivered after their ack wait', (s) => c(s).redeliveries, srv);

  new Gauge({
    name: 'stan_ft_active',
    help: '1 when this server serves clients (standalone or FT active), 0 otherwise',
    registers: [registry],
    collect() {
      const state = srv()?.state;
      this.set(state === 'FT_ACTIVE' || state === 'STANDALONE' ? 1 : 0);
    },
  });
  gauge(registry, 'stan_store_lock_held', '1 when this server holds the store lock', (s) => (s.lockStatus().held ? 1 : 0), srv);
  gauge(
    registry,
    'stan_store_lock_refresh_age_seconds',
    'Seconds since the store lock was last refreshed',
    (s) => {
      const at = s.lockStatus().refreshedAt;
      return at ? (Date.now() - at) / 1000 : 0;
    },
    srv,
  );
  counter(registry, 'stan_store_lock_attempts_total', 'Attempts to take the store lock', (s) => s.lockStatus().attempts, srv);
  counter(registry, 'stan_store_lock_failures_total', 'Failed attempts to take the store lock (errors)', (s) => s.lockStatus().failures, srv);
  counter(registry, 'stan_ft_activations_total', 'Times this server became the FT active server', (s) => (s.state === 'FT_ACTIVE' ? 1 : 0), srv);
  gauge(registry, 'stan_ft_activation_seconds', 'Time from getting the store lock to serving clients', (s) => s.activationSeconds, srv);

  const channelGauge = (name: string, help: string, read: (ch: import('../server/channel.js').ChannelState) => number, labels: string[] = ['channel']) =>
    new Gauge({
      name,
      help,
      labelNames: labels,
      registers: [registry],
      collect() {
        this.reset();
        const s = srv();
        if (!s?.context) return;
        for (const ch of s.context.channels.all()) this.set(labels.includes('server') ? { server: s.serverId, channel: ch.name } : { channel: ch.name }, read(ch));
      },
    });
  channelGauge('stan_channel_last_seq', 'Last sequence stored in the channel', (ch) => ch.lastSeq);
  channelGauge('stan_channel_msgs', 'Messages stored in the channel', (ch) => ch.store.msgs.state().msgs);
  channelGauge('stan_channel_bytes', 'Bytes stored in the channel', (ch) => ch.store.msgs.state().bytes);
  channelGauge('nss_chan_bytes_total', 'Bytes stored in the channel', (ch) => ch.store.msgs.state().bytes, ['server', 'channel']);
  channelGauge('nss_chan_msgs_total', 'Messages stored in the channel', (ch) => ch.store.msgs.state().msgs, ['server', 'channel']);
  channelGauge('nss_chan_last_seq', 'Last sequence stored in the channel', (ch) => ch.lastSeq, ['server', 'channel']);

  for (const [name, help, read] of [
    ['nss_server_bytes_total', 'Bytes stored', (s: StanServer) => s.totals().bytes],
    ['nss_server_msgs_total', 'Messages stored', (s: StanServer) => s.totals().msgs],
    ['nss_server_channels', 'Channels', (s: StanServer) => s.context.channels.size],
    ['nss_server_subscriptions', 'Subscriptions', (s: StanServer) => s.subscriptionCount()],
    ['nss_server_clients', 'Clients', (s: StanServer) => s.context.clients.size],
  ] as const) {
    new Gauge({
      name,
      help,
      labelNames: ['server'],
      registers: [registry],
      collect() {
        this.reset();
        const s = srv();
        if (s?.context) this.set({ server: s.serverId }, read(s));
      },
    });
  }

  if (opts.perSubscription) {
    const subGauge = (name: string, help: string, read: (sub: Subscription) => number, nss: boolean) =>
      new Gauge({
        name,
        help,
        labelNames: nss ? [...NSS_SUB_LABELS] : [...SUB_LABELS],
        registers: [registry],
        collect() {
          this.reset();
          const s = srv();
          if (!s?.context) return;
          for (const ch of s.context.channels.all())
            for (const sub of ch.subs) this.set(nss ? nssSubLabels(s.serverId, sub) : subLabels(sub), read(sub));
        },
      });
    subGauge('stan_subscription_last_sent', 'Last sequence sent to the subscription', (sub) => sub.state.lastSent, false);
    subGauge('stan_subscription_pending', 'Messages sent and not yet acknowledged', (sub) => sub.pending.size, false);
    subGauge('stan_subscription_lag', 'Messages stored in the channel after the last one sent', (sub) => Math.max(0, sub.channel.lastSeq - (sub.queue?.lastSent ?? sub.state.lastSent)), false);
    subGauge('stan_subscription_redeliveries', 'Messages redelivered to the subscription', (sub) => sub.redeliveredTotal, false);
    subGauge('nss_chan_subs_last_sent', 'Last message sent', (sub) => sub.state.lastSent, true);
    subGauge('nss_chan_subs_pending_count', 'Pending message count', (sub) => sub.pending.size, true);
    subGauge('nss_chan_subs_max_inflight', 'Max in flight message count', (sub) => sub.state.maxInFlight, true);
  }

  const storeFlush = new Histogram({
    name: 'stan_store_flush_seconds',
    help: 'Time to make one batch of published messages durable in the store',
    buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return { registry, storeFlush };
}
