import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GO_FIXTURES } from './go-fixture.js';
import { type NatsServer, startNatsServer } from './nats-server.js';
import { type StanProcess, startStanServer } from './stan-server.js';
import { closeStan, connectStan, subscribe, until, sleep } from './stan-client.js';

/** Fields that differ from run to run, or that the Go server itself does not keep across a restart. */
const VOLATILE = new Set(['now', 'server_id', 'start_time', 'uptime', 'is_stalled', 'in_msgs', 'in_bytes', 'out_msgs', 'out_bytes', 'open_fds', 'max_fds', 'go', 'hb_inbox']);

function stripVolatile(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripVolatile);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (!VOLATILE.has(k)) out[k] = stripVolatile(v);
    return out;
  }
  return value;
}

/** Subscriptions are compared as sets: their order within a channel depends on Go map iteration. */
function sortSubs(value: any): any {
  if (Array.isArray(value?.channels)) for (const ch of value.channels) ch.subscriptions?.sort((a: any, b: any) => (a.ack_inbox < b.ack_inbox ? -1 : 1));
  if (Array.isArray(value?.clients))
    for (const c of value.clients) for (const list of Object.values(c.subscriptions ?? {}) as any[]) list.sort((a: any, b: any) => (a.ack_inbox < b.ack_inbox ? -1 : 1));
  return value;
}

function goAnswer(store: string, endpoint: string): any {
  return JSON.parse(readFileSync(join(GO_FIXTURES, 'verify', store, `${endpoint}.json`), 'utf8'));
}

/**
 * Runs the real server on a store the Go server wrote, and checks that it reports what the Go server reported after
 * the same recovery, and that durables resume exactly where the Go server resumed them.
 */
export function goFixtureServerTests(store: 'file' | 'postgres' | 'mysql', prepare: () => Promise<{ args: string[]; cleanup: () => Promise<void> }>): void {
  describe(`the Go ${store} fixture served by our server`, () => {
    let nats: NatsServer;
    let server: StanProcess;
    let cleanup: () => Promise<void> = async () => {};

    before(async () => {
      nats = await startNatsServer();
      const prepared = await prepare();
      cleanup = prepared.cleanup;
      server = await startStanServer(nats.url, [...prepared.args, '-sc', join(GO_FIXTURES, 'stan.conf')], 'fixture-cluster');
    });
    after(async () => {
      await server?.stop();
      await nats?.stop();
      await cleanup();
    });

    for (const endpoint of ['channelsz?subs=1', 'clientsz?subs=1', 'storez', 'serverz']) {
      const name = endpoint.replace(/\?.*/, '');
      it(`answers ${endpoint} as the Go server did after recovery`, async () => {
        const { status, body } = await server.monitor(`/streaming/${endpoint}`);
        assert.equal(status, 200);
        assert.deepEqual(sortSubs(stripVolatile(body)), sortSubs(stripVolatile(goAnswer(store, name))));
      });
    }

    it('resumes the durables where the Go server resumed them', async () => {
      // client-durable was left registered; its heartbeat inbox is dead, so a new connection replaces it.
      const sc = await connectStan('fixture-cluster', 'client-durable', nats.url);
      const durA = await subscribe(sc, 'orders', undefined, sc.subscriptionOptions().setDurableName('dur-a').setManualAckMode(true).setMaxInFlight(100).setAckWait(60_000));
      const dq = await subscribe(sc, 'orders', 'workers', sc.subscriptionOptions().setDurableName('dqdur').setManualAckMode(true).setMaxInFlight(50).setAckWait(60_000));
      await until(() => durA.got.length >= 100 && dq.got.length >= 50, 10_000, 'redeliveries');
      await sleep(300);
      assert.deepEqual(durA.got.map((m) => m.seq), Array.from({ length: 100 }, (_, i) => 401 + i));
      assert.ok(durA.got.every((m) => m.redelivered));
      assert.deepEqual(dq.got.map((m) => m.seq), Array.from({ length: 50 }, (_, i) => 251 + i));
      assert.ok(dq.got.every((m) => m.redelivered));
      const closed = await connectStan('fixture-cluster', 'client-closed', nats.url);
      const durClosed = await subscribe(closed, 'events.eu', undefined, closed.subscriptionOptions().setDurableName('dur-closed'));
      await sleep(300);
      assert.equal(durClosed.got.length, 0);
      const { body } = await server.monitor('/streaming/channelsz?channel=events.eu&subs=1');
      assert.equal(body.subscriptions[0].last_sent, 5);
      assert.equal(body.subscriptions[0].pending_count, 0);
      await closeStan(closed);
      await closeStan(sc);
    });

    it('delivers every stored message to a new subscriber from the first one', async () => {
      const sc = await connectStan('fixture-cluster', 'reader', nats.url);
      for (const [channel, first, last] of [['orders', 1, 1000], ['events.eu', 1, 5], ['limited', 31, 130]] as const) {
        const { got } = await subscribe(sc, channel, undefined, sc.subscriptionOptions().setDeliverAllAvailable());
        await until(() => got.length >= last - first + 1, 10_000, `${channel} messages`);
        assert.deepEqual(got.map((m) => m.seq), Array.from({ length: last - first + 1 }, (_, i) => first + i));
      }
      await closeStan(sc);
    });
  });
}
