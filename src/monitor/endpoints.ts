import type { ChannelLimits } from '../stores/limits.js';
import { VERSION } from '../version.js';
import type { ChannelState } from '../server/channel.js';
import type { StanServer } from '../server/server.js';
import type { Subscription } from '../server/subscription.js';
import { BadRequest } from './http.js';

const DEFAULT_LIMIT = 1024;
const NS_PER_MS = 1_000_000;

/** Uptime as the Go server prints it: "45s", "3m2s", "1h0m5s", "2d1h0m5s". */
export function formatUptime(ms: number): string {
  let s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d > 0) return `${d}d${h}h${m}m${s}s`;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

function header(srv: StanServer) {
  return { cluster_id: srv.opts.clusterId, server_id: srv.serverId, now: new Date().toISOString() };
}

function totals(srv: StanServer): { msgs: number; bytes: number; subs: number } {
  let msgs = 0;
  let bytes = 0;
  let subs = 0;
  for (const channel of srv.context.channels.all()) {
    const st = channel.store.msgs.state();
    msgs += st.msgs;
    bytes += st.bytes;
    subs += channel.subs.size;
  }
  return { msgs, bytes, subs };
}

export function serverz(srv: StanServer) {
  const ctx = srv.context;
  const t = totals(srv);
  const { counters } = ctx;
  return {
    cluster_id: srv.opts.clusterId,
    server_id: srv.serverId,
    version: VERSION,
    go: `node ${process.version}`,
    state: srv.state,
    now: new Date().toISOString(),
    start_time: srv.startTime.toISOString(),
    uptime: formatUptime(Date.now() - srv.startTime.getTime()),
    clients: ctx.clients.size,
    subscriptions: t.subs,
    channels: ctx.channels.size,
    total_msgs: t.msgs,
    total_bytes: t.bytes,
    in_msgs: counters.inMsgs,
    in_bytes: counters.inBytes,
    out_msgs: counters.outMsgs,
    out_bytes: counters.outBytes,
    open_fds: 0,
    max_fds: 0,
  };
}

function limitsJson(l: ChannelLimits) {
  return {
    max_msgs: l.maxMsgs,
    max_bytes: l.maxBytes,
    max_age: l.maxAge * NS_PER_MS,
    max_subscriptions: l.maxSubscriptions,
    max_inactivity: l.maxInactivity * NS_PER_MS,
  };
}

export function storez(srv: StanServer) {
  const limits = srv.opts.storeLimits;
  const t = totals(srv);
  const perChannel: Record<string, ReturnType<typeof limitsJson>> = {};
  for (const name of [...limits.perChannel.keys()].sort()) perChannel[name] = limitsJson(srv.store.getChannelLimits(name));
  return {
    ...header(srv),
    type: srv.store.type,
    limits: {
      max_channels: limits.maxChannels,
      ...limitsJson(limits),
      ...(limits.perChannel.size > 0 ? { channels: perChannel } : {}),
    },
    total_msgs: t.msgs,
    total_bytes: t.bytes,
  };
}

function subJson(sub: Subscription) {
  const s = sub.state;
  return {
    client_id: s.clientID,
    inbox: s.inbox,
    ack_inbox: s.ackInbox,
    ...(s.qGroup ? { queue_name: s.qGroup } : {}),
    ...(s.durableName ? { durable_name: s.durableName } : {}),
    is_durable: s.isDurable,
    is_offline: sub.isOffline,
    max_inflight: s.maxInFlight,
    ack_wait: s.ackWaitInSecs,
    last_sent: s.lastSent,
    pending_count: sub.pending.size,
    is_stalled: sub.isStalled,
  };
}

function intParam(query: URLSearchParams, name: string, fallback: number): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw)) throw new BadRequest(`invalid value for ${name}: "${raw}"`);
  return Number(raw);
}

function boolParam(query: URLSearchParams, name: string): boolean {
  const raw = query.get(name);
  if (raw === null || raw === '' || raw === '0' || raw === 'false') return false;
  if (raw === '1' || raw === 'true') return true;
  throw new BadRequest(`invalid value for ${name}: "${raw}"`);
}

function page<T>(items: T[], query: URLSearchParams): { offset: number; limit: number; items: T[] } {
  let offset = intParam(query, 'offset', 0);
  let limit = intParam(query, 'limit', DEFAULT_LIMIT);
  if (offset < 0) offset = 0;
  if (limit <= 0) limit = DEFAULT_LIMIT;
  return { offset, limit, items: items.slice(offset, offset + limit) };
}

/** Plain subscriptions (with offline durables) first, then queue members and shadows, as the Go server lists them. */
function orderedSubs(channel: ChannelState): Subscription[] {
  const plain: Subscription[] = [];
  const queued: Subscription[] = [];
  for (const sub of channel.subs) (sub.queue ? queued : plain).push(sub);
  return [...plain, ...queued];
}

function channelJson(channel: ChannelState, withSubs: boolean) {
  const st = channel.store.msgs.state();
  const [first, last] = channel.store.msgs.firstAndLastSequence();
  const subs = orderedSubs(channel);
  return {
    name: channel.name,
    msgs: st.msgs,
    bytes: st.bytes,
    first_seq: first,
    last_seq: last,
    ...(withSubs ? { subs_count: subs.length, ...(subs.length > 0 ? { subscriptions: subs.map(subJson) } : {}) } : {}),
  };
}

export function channelsz(srv: StanServer, query: URLSearchParams) {
  const ctx = srv.context;
  const withSubs = boolParam(query, 'subs');
  const name = query.get('channel');
  if (name !== null) {
    const channel = ctx.channels.get(name);
    if (!channel) throw new BadRequest(`channel ${name} not found`);
    return { ...header(srv), ...channelJson(channel, withSubs) };
  }
  const channels = [...ctx.channels.all()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const p = page(channels, query);
  const base = { ...header(srv), offset: p.offset, limit: p.limit, count: p.items.length, total: channels.length };
  if (!withSubs) return { ...base, names: p.items.map((c) => c.name) };
  return { ...base, channels: p.items.map((c) => channelJson(c, true)) };
}

function clientJson(srv: StanServer, id: string, withSubs: boolean) {
  const client = srv.context.clients.get(id)!;
  const byChannel: Record<string, ReturnType<typeof subJson>[]> = {};
  const subs = [...client.subs].sort((a, b) => a.id - b.id);
  for (const sub of subs) (byChannel[sub.channel.name] ??= []).push(subJson(sub));
  return {
    id: client.id,
    hb_inbox: client.info.HbInbox,
    subs_count: client.subs.size,
    ...(withSubs && subs.length > 0 ? { subscriptions: byChannel } : {}),
  };
}

export function clientsz(srv: StanServer, query: URLSearchParams) {
  const ctx = srv.context;
  const withSubs = boolParam(query, 'subs');
  const id = query.get('client');
  if (id !== null) {
    if (!ctx.clients.get(id)) throw new BadRequest(`client ${id} not found`);
    return { ...header(srv), ...clientJson(srv, id, withSubs) };
  }
  const ids = [...ctx.clients.all()].map((c) => c.id).sort();
  const p = page(ids, query);
  return {
    ...header(srv),
    offset: p.offset,
    limit: p.limit,
    count: p.items.length,
    total: ids.length,
    clients: p.items.map((cid) => clientJson(srv, cid, withSubs)),
  };
}
