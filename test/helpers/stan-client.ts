import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
/** node-nats-streaming: the real npm STAN client, which nobody here wrote. */
export const stan = require('node-nats-streaming') as any;

export type StanConn = any;

export function connectStan(clusterId: string, clientId: string, url: string, opts: Record<string, unknown> = {}): Promise<StanConn> {
  return new Promise((resolve, reject) => {
    const sc = stan.connect(clusterId, clientId, { url, ...opts });
    sc.once('connect', () => resolve(sc));
    sc.once('error', (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))));
  });
}

export function closeStan(sc: StanConn): Promise<void> {
  return new Promise((resolve) => {
    sc.once('close', () => resolve());
    sc.close();
  });
}

export function publish(sc: StanConn, subject: string, data: string | Uint8Array): Promise<string> {
  return new Promise((resolve, reject) => {
    sc.publish(subject, data, (err: unknown, guid: string) => (err ? reject(new Error(String(err))) : resolve(guid)));
  });
}

/**
 * Subscribes, collecting messages from the start (they can arrive in the same read as the server's answer), and
 * resolves once the server has accepted the subscription.
 */
export function subscribe(
  sc: StanConn,
  subject: string,
  qGroup: string | undefined,
  opts: any,
  onMsg?: (r: Received) => void,
): Promise<{ sub: any; got: Received[] }> {
  return new Promise((resolve, reject) => {
    const sub = qGroup ? sc.subscribe(subject, qGroup, opts) : sc.subscribe(subject, opts);
    const got = collect(sub, onMsg);
    sub.once('ready', () => resolve({ sub, got }));
    sub.once('error', (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))));
  });
}

export interface Received {
  seq: number;
  data: string;
  redelivered: boolean;
  redeliveryCount: number;
  msg: any;
}

/** Collects the messages a subscription gets. */
export function collect(sub: any, onMsg?: (r: Received) => void): Received[] {
  const out: Received[] = [];
  sub.on('message', (msg: any) => {
    const r: Received = {
      seq: msg.getSequence(),
      data: Buffer.from(msg.getRawData()).toString(),
      redelivered: msg.isRedelivered(),
      redeliveryCount: msg.getRedeliveryCount?.() ?? 0,
      msg,
    };
    out.push(r);
    onMsg?.(r);
  });
  return out;
}

/** Waits until a condition holds, polling; fails with a message after `ms`. */
export async function until(cond: () => boolean, ms = 10000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Closes the NATS connection under a node-nats-streaming client: the server is not told, the client just goes silent.
 * (The NATS client drops its listeners on close, so the streaming client's ping timer is stopped here by hand.)
 */
export function killUnderlyingNats(sc: StanConn): void {
  clearTimeout(sc.pingTimer);
  delete sc.pingTimer;
  sc.nc.close();
  delete sc.nc;
}

export const seqs = (got: Received[]): number[] => got.map((m) => m.seq);
export const flags = (got: Received[]): boolean[] => got.map((m) => m.redelivered);

/** Closes a subscription (a durable stays on the server) and resolves once the server confirmed it. */
export function closeSub(sub: any): Promise<void> {
  return new Promise((resolve, reject) => {
    sub.once('closed', () => resolve());
    sub.once('error', reject);
    sub.close();
  });
}

/** Unsubscribes (a durable is removed) and resolves once the server confirmed it. */
export function unsubscribeSub(sub: any): Promise<void> {
  return new Promise((resolve, reject) => {
    sub.once('unsubscribed', () => resolve());
    sub.once('error', reject);
    sub.unsubscribe();
  });
}
