import { readFileSync, readdirSync } from 'node:fs';
import { nowNs } from '../server/clock.js';
import type { ChannelLimits } from '../stores/limits.js';
import { VERSION } from '../version.js';
import type { ChannelState } from '../server/channel.js';
import type { StanServer } from '../server/server.js';
import type { Subscription } from '../server/subscription.js';
import { BadRequest, NotFound } from './http.js';

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

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** A time as Go's encoding/json writes it: RFC 3339 in the local zone, nanoseconds without trailing zeros. */
export function formatTime(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const d = new Date(ms);
  const offsetMin = -d.getTimezoneOffset();
  const frac = String(ns % 1_000_000_000n).padStart(9, '0').replace(/0+$/, '');
  const zone = offsetMin === 0 ? 'Z' : `${offsetMin > 0 ? '+' : '-'}${pad(Math.floor(Math.abs(offsetMin) / 60))}:${pad(Math.abs(offsetMin) % 60)}`;
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` +
    (frac ? `.${frac}` : '') +
    zone
  );
}

/** Open file descriptors and the hard limit on them, as the Go server reports them; undefined off Linux. */
function fileDescriptors(): { open_fds: number; max_fds: number } | undefined {
  try {
    const open = readdirSync('/proc/self/fd').length;
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const hard = line?.split(/\s{2,}/)[2];
    return { open_fds: open, max_fds: hard === undefined || hard === 'unlimited' ? -1 : Number(hard) };
  } catch {
    return undefined;
  }
}

function header(srv: StanServer) {
  return { cluster_id: srv.opts.clusterId, server_id: srv.serverId, now: formatTime(nowNs()) };
}

export function serverz(srv: StanServer) {
  const ctx = srv.context;
  const t = srv.totals();
  const { counters } = ctx;
  return {
    cluster_id: srv.opts.clusterId,
    server_id: srv.serverId,
    version: VERSION,
    go: `node ${process.version}`,
    state: srv.state,
    now: formatTime(nowNs()),
    start_time: formatTime(BigInt(srv.startTime.getTime()) * 1_000_000n),
    uptime: formatUptime(Date.now() - srv.startTime.getTime()),
    clients: ctx.clients.size,
    subscriptions: srv.subscriptionCount(),
    channels: ctx.channels.size,
    total_msgs: t.msgs,
    total_bytes: t.bytes,
    in_msgs: counters.inMsgs,
    in_bytes: counters.inBytes,
    out_msgs: counters.outMsgs,
    out_bytes: counters.outBytes,
    ...fileDescriptors(),
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
  const t = srv.totals();
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
    client_id: s.clientID || sub.savedClientId,
    inbox: s.inbox,
    ack_inbox: s.ackInbox,
    ...(s.durableName ? { durable_name: s.durableName } : {}),
    ...(s.qGroup ? { queue_name: s.qGroup } : {}),
    is_durable: s.isDurable,
    is_offline: sub.isOffline,
    max_inflight: s.maxInFlight,
    ack_wait: s.ackWaitInSecs,
    last_sent: s.lastSent,
    pending_count: sub.pending.size,
    is_stalled: sub.isStalled,
  };
}

/**
 * A query integer as Go's strconv.Atoi reads it. The Go server silently reads garbage as 0; we answer 400 instead, so
 * that a typo in a dashboard's URL is seen rather than quietly returning the first page.
 */
function intParam(query: URLSearchParams, name: string): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return 0;
  if (!/^[+-]?\d+$/.test(raw)) throw new BadRequest(`invalid value for "${name}": "${raw}" is not an integer`);
  return Number(raw);
}

/** Subscriptions are listed only when `subs` reads as exactly 1. */
function withSubsParam(query: URLSearchParams): boolean {
  return intParam(query, 'subs') === 1;
}

function page<T>(items: T[], query: URLSearchParams): { offset: number; limit: number; items: T[] } {
  let offset = intParam(query, 'offset');
  let limit = intParam(query, 'limit');
  if (offset < 0) offset = 0;
  if (limit <= 0) limit = DEFAULT_LIMIT;
  return { offset, limit, items: items.slice(offset, offset + limit) };
}

/** Online plain and durable subscriptions, then offline durables, then queue members and shadows, as in the Go server. */
function orderedSubs(channel: ChannelState): Subscription[] {
  const online: Subscription[] = [];
  const offline: Subscription[] = [];
  const queued: Subscription[] = [];
  for (const sub of channel.subs) (sub.queue ? queued : sub.isOffline ? offline : online).push(sub);
  return [...online, ...offline, ...queued];
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
    subs_count: subs.length,
    ...(withSubs && subs.length > 0 ? { subscriptions: subs.map(subJson) } : {}),
  };
}

export function channelsz(srv: StanServer, query: URLSearchParams) {
  const ctx = srv.context;
  const withSubs = withSubsParam(query);
  const name = query.get('channel');
  if (name) {
    const channel = ctx.channels.get(name);
    if (!channel) throw new NotFound(`Channel ${name} not found`);
    return { ...header(srv), ...channelJson(channel, withSubs) };
  }
  const channels = [...ctx.channels.all()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const p = page(channels, query);
  const base = { ...header(srv), offset: p.offset, limit: p.limit, count: p.items.length, total: channels.length };
  if (p.items.length === 0) return base;
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
  const withSubs = withSubsParam(query);
  const id = query.get('client');
  if (id) {
    if (!ctx.clients.get(id)) throw new NotFound(`Client ${id} not found`);
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
