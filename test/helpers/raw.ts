/**
 * Raw STAN protocol over a plain NATS connection (the `nats` v2 client), for the requests node-nats-streaming never
 * sends: error paths, odd field values and garbage.
 */
import { type NatsConnection, connect, createInbox } from 'nats';
import {
  type ConnectRequest,
  type ConnectResponse,
  type PubAck,
  type PubMsg,
  type SubscriptionRequest,
  type SubscriptionResponse,
  type UnsubscribeRequest,
  StartPosition,
  pb,
} from '../../src/proto/codec.js';
import type { StanProcess } from './stan-server.js';
import { type StanConn, closeStan, connectStan, publish, subscribe, until } from './stan-client.js';

export const EMPTY = new Uint8Array(0);
export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** The protocol subjects the Go server uses for a cluster ID (all of them derived from it, nothing random). */
export function stanSubjects(clusterId: string) {
  return {
    discover: `_STAN.discover.${clusterId}`,
    pub: `_STAN.pub.${clusterId}`,
    sub: `_STAN.sub.${clusterId}`,
    unsub: `_STAN.unsub.${clusterId}`,
    subClose: `_STAN.subclose.${clusterId}`,
    close: `_STAN.close.${clusterId}`,
    pings: `_STAN.discover.${clusterId}.pings`,
  };
}

let uniq = 0;
/** A name unique in this test process, usable as client ID, channel or durable name. */
export function unique(prefix: string): string {
  uniq++;
  return `${prefix}-${process.pid}-${uniq}`;
}

export function rawNats(url: string): Promise<NatsConnection> {
  return connect({ servers: url, name: 'raw-test-client' });
}

/** A request that must get an answer; returns the answer's payload. */
export async function request(nc: NatsConnection, subject: string, data: Uint8Array, timeout = 5000): Promise<Uint8Array> {
  const m = await nc.request(subject, data, { timeout });
  return m.data;
}

/** Publishes with a reply inbox and returns whatever replies arrived within `ms` (for "no answer" checks). */
export async function repliesWithin(nc: NatsConnection, subject: string, data: Uint8Array, ms: number): Promise<Uint8Array[]> {
  const inbox = createInbox();
  const got: Uint8Array[] = [];
  const sub = nc.subscribe(inbox, { callback: (_err, msg) => got.push(msg.data) });
  await nc.flush();
  nc.publish(subject, data, { reply: inbox });
  await nc.flush();
  await new Promise((r) => setTimeout(r, ms));
  sub.unsubscribe();
  return got;
}

export function connectReq(clientID: string, o: Partial<ConnectRequest> = {}): ConnectRequest {
  return {
    clientID,
    heartbeatInbox: createInbox(),
    protocol: 1,
    connID: utf8(createInbox().slice('_INBOX.'.length)),
    pingInterval: 5,
    pingMaxOut: 3,
    ...o,
  };
}

export async function rawConnect(nc: NatsConnection, clusterId: string, req: ConnectRequest, timeout = 5000): Promise<ConnectResponse> {
  return pb.ConnectResponse.decode(await request(nc, stanSubjects(clusterId).discover, pb.ConnectRequest.encode(req), timeout));
}

/** Makes the heartbeat inbox of a request answer the server, as a live client does. */
export function answerHeartbeats(nc: NatsConnection, req: ConnectRequest): { stop(): void } {
  const sub = nc.subscribe(req.heartbeatInbox, { callback: (_err, msg) => msg.respond(EMPTY) });
  return { stop: () => sub.unsubscribe() };
}

/** A raw client that answers heartbeats; fails the test if the server refuses it. */
export async function liveRawClient(nc: NatsConnection, clusterId: string, clientID: string): Promise<{ req: ConnectRequest; resp: ConnectResponse; stop(): void }> {
  const req = connectReq(clientID);
  const hb = answerHeartbeats(nc, req);
  await nc.flush();
  const resp = await rawConnect(nc, clusterId, req);
  if (resp.error) throw new Error(`raw connect of ${clientID} refused: ${resp.error}`);
  return { req, resp, stop: hb.stop };
}

export function subReq(o: Partial<SubscriptionRequest> = {}): SubscriptionRequest {
  return {
    clientID: '',
    subject: '',
    qGroup: '',
    inbox: createInbox(),
    maxInFlight: 1024,
    ackWaitInSecs: 30,
    durableName: '',
    startPosition: StartPosition.NewOnly,
    startSequence: 0,
    startTimeDelta: 0n,
    ...o,
  };
}

export async function rawSubscribe(nc: NatsConnection, clusterId: string, req: SubscriptionRequest): Promise<SubscriptionResponse> {
  return pb.SubscriptionResponse.decode(await request(nc, stanSubjects(clusterId).sub, pb.SubscriptionRequest.encode(req)));
}

export async function rawUnsubscribe(nc: NatsConnection, clusterId: string, req: Partial<UnsubscribeRequest>, close = false): Promise<SubscriptionResponse> {
  const s = stanSubjects(clusterId);
  const full: UnsubscribeRequest = { clientID: '', subject: '', inbox: '', durableName: '', ...req };
  return pb.SubscriptionResponse.decode(await request(nc, close ? s.subClose : s.unsub, pb.UnsubscribeRequest.encode(full)));
}

export function pubMsg(o: Partial<PubMsg> = {}): PubMsg {
  return { clientID: '', guid: createInbox().slice('_INBOX.'.length), subject: '', reply: '', data: EMPTY, connID: EMPTY, ...o };
}

/** Sends a PubMsg on `<pubPrefix>.<suffix>` and returns the PubAck. */
export async function rawPublish(nc: NatsConnection, clusterId: string, msg: PubMsg, suffix = 'x'): Promise<PubAck> {
  return pb.PubAck.decode(await request(nc, `${stanSubjects(clusterId).pub}.${suffix}`, pb.PubMsg.encode(msg)));
}

/** A small deterministic pseudo-random generator (mulberry32), so that garbage tests are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(rand: () => number, maxLen: number): Uint8Array {
  const len = 1 + Math.floor(rand() * maxLen);
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = Math.floor(rand() * 256);
  return out;
}

/** channelsz for one channel with its subscriptions; `undefined` when the server does not know the channel. */
export async function channelz(server: StanProcess, name: string): Promise<any> {
  const { status, body } = await server.monitor(`/streaming/channelsz?channel=${encodeURIComponent(name)}&subs=1`);
  return status === 200 ? body : undefined;
}

/** The client IDs clientsz lists. */
export async function clientIds(server: StanProcess): Promise<string[]> {
  const { status, body } = await server.monitor('/streaming/clientsz?limit=100000');
  if (status !== 200) throw new Error(`clientsz answered ${status}`);
  return (body.clients as { id: string }[]).map((c) => c.id);
}

/** Polls a monitoring condition until it holds. */
export async function untilAsync(cond: () => Promise<boolean>, ms = 10000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Proves the server still serves: a new node-nats-streaming client publishes and a subscriber gets the message, and
 * the monitoring endpoint answers.
 */
export async function assertServing(server: StanProcess, natsUrl: string): Promise<void> {
  if (server.proc.child.exitCode !== null || server.proc.child.signalCode !== null) {
    throw new Error(`server process exited:\n${server.proc.output()}`);
  }
  const id = unique('alive');
  const sc = await connectStan(server.clusterId, id, natsUrl);
  try {
    const channel = unique('alive.ch');
    const { got } = await subscribe(sc, channel, undefined, sc.subscriptionOptions().setDeliverAllAvailable());
    await publish(sc, channel, 'still here');
    await until(() => got.length === 1, 10000, 'the liveness message');
    if (got[0]!.data !== 'still here' || got[0]!.seq !== 1) throw new Error(`unexpected liveness message ${JSON.stringify(got[0]!.data)}`);
    const { status } = await server.monitor('/streaming/serverz');
    if (status !== 200) throw new Error(`serverz answered ${status}`);
  } finally {
    await closeStan(sc);
  }
}

/**
 * node-nats-streaming connections opened by a test file, closed in `after()` even when a test failed half-way (an
 * unclosed one keeps reconnecting to the stopped nats-server and holds the test process open).
 */
export class StanConns {
  private readonly list: StanConn[] = [];

  async connect(clusterId: string, clientId: string, url: string, opts: Record<string, unknown> = {}): Promise<StanConn> {
    const sc = await connectStan(clusterId, clientId, url, opts);
    this.list.push(sc);
    return sc;
  }

  async closeAll(): Promise<void> {
    for (const sc of this.list.splice(0)) {
      if (!sc.isClosed()) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([closeStan(sc), new Promise((r) => (timer = setTimeout(r, 3000)))]);
        clearTimeout(timer);
      }
      try {
        sc.nc?.close();
      } catch {
        // already closed
      }
    }
  }
}
