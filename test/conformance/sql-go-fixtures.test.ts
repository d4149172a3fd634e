import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { loadOptions } from '../../src/config/load.js';
import type { SubState } from '../../src/proto/codec.js';
import { createStore } from '../../src/stores/factory.js';
import type { RecoveredState, Store } from '../../src/stores/store.js';
import { mysqlSchema, startMariaDb, type MariaDbServer } from '../helpers/mariadb.js';
import { postgresSchema, repoFile, startPostgres, type PgServer } from '../helpers/postgres.js';

/**
 * The SQL stores the Go server v0.25.6 wrote (shared/fixtures/go-0.25.6: data-only dumps of PostgreSQL and MariaDB),
 * loaded into databases created with our deploy/sql scripts and recovered through the same options path as the
 * server (-st SQL --sql_driver ... --sql_source ... -sc stan.conf). Every item of the fixtures' manifest is checked.
 */

function fixturesDir(): string {
  const candidates = [process.env.NSS_GO_FIXTURES, repoFile('..', 'shared', 'fixtures', 'go-0.25.6'), '/work/shared/fixtures/go-0.25.6'];
  for (const c of candidates) if (c && existsSync(join(c, 'manifest.json'))) return c;
  throw new Error('the Go fixtures (shared/fixtures/go-0.25.6) are missing; set NSS_GO_FIXTURES');
}

const FX = fixturesDir();

interface ManifestSub {
  channel: string;
  client_id: string;
  durable_name: string | null;
  queue_name: string | null;
  is_durable: boolean;
  max_inflight: number;
  ack_wait_seconds: number;
  last_sent: number;
  pending_sequences: number[];
}
interface Manifest {
  cluster_id: string;
  channels: Record<string, { msgs: number; bytes: Record<string, number>; first_seq: number; last_seq: number; subs_count: number; samples: Record<string, { data_b64: string; sha256: string }> }>;
  subscriptions: ManifestSub[];
  clients: { client_id: string }[];
  closed_clients: { client_id: string }[];
  server_totals: { clients: number; subscriptions: number; channels: number; total_msgs: number; total_bytes: Record<string, number> };
  per_store: Record<
    string,
    {
      clients: { client_id: string; hb_inbox: string }[];
      subscriptions: { channel: string; client_id: string; durable_name: string | null; queue_name: string | null; inbox: string; ack_inbox: string; subid: number }[];
      deleted_subscription_subid: number;
      payload_digest: Record<string, string>;
      sample_timestamps_ns: Record<string, Record<string, string>>;
    }
  >;
}

const manifest = JSON.parse(readFileSync(join(FX, 'manifest.json'), 'utf8')) as Manifest;
const timestamps = JSON.parse(readFileSync(join(FX, 'timestamps.json'), 'utf8')) as Record<
  string,
  Record<string, { first_seq: string; last_seq: string; timestamps_ns: string[] }>
>;

function expectedData(channel: string, seq: number): Buffer {
  if (channel === 'orders') return Buffer.from(`order-${seq}`);
  if (channel === 'limited') return Buffer.from(`limited-${seq}`);
  const len = [0, 1, 255, 256, 4096][seq - 1]!;
  return Buffer.from(Array.from({ length: len }, (_, i) => i % 256));
}

function subKey(s: { channel: string; durable_name: string | null; queue_name: string | null; client_id: string }): string {
  return `${s.channel}|${s.durable_name ?? ''}|${s.queue_name ?? ''}`;
}

function recoveredKey(channel: string, sub: SubState): string {
  return `${channel}|${sub.durableName}|${sub.qGroup}`;
}

interface Backend {
  kind: 'postgres' | 'mysql';
  start(): Promise<{ stop(): Promise<void>; load(): Promise<string> }>;
}

const backends: Backend[] = [
  {
    kind: 'postgres',
    async start() {
      const s: PgServer = await startPostgres();
      return {
        stop: () => s.stop(),
        async load() {
          const db = await s.createDatabase('fixture');
          await s.exec(db, postgresSchema());
          await s.exec(db, readFileSync(join(FX, 'postgres.sql'), 'utf8'));
          return s.dsn(db);
        },
      };
    },
  },
  {
    kind: 'mysql',
    async start() {
      const s: MariaDbServer = await startMariaDb();
      return {
        stop: () => s.stop(),
        async load() {
          const db = await s.createDatabase('fixture');
          await s.exec(db, mysqlSchema());
          await s.exec(db, readFileSync(join(FX, 'mysql.sql'), 'utf8'));
          return s.dsn(db);
        },
      };
    },
  },
];

const silent = pino({ enabled: false });

async function openFixtureStore(kind: string, dsn: string): Promise<Store> {
  const { options } = loadOptions(['-cid', 'fixture-cluster', '-st', 'SQL', '--sql_driver', kind, '--sql_source', dsn, '-sc', join(FX, 'stan.conf')], {});
  assert.equal(options.storeLimits.perChannel.get('limited')?.maxMsgs, 100);
  const store = await createStore(options, silent);
  store.setLimits(options.storeLimits);
  return store;
}

for (const backend of backends) {
  describe(`Go ${backend.kind} store fixture (v0.25.6)`, () => {
    let server: Awaited<ReturnType<Backend['start']>>;
    let dsn: string;
    let store: Store;
    let state: RecoveredState;
    const perStore = manifest.per_store[backend.kind]!;

    before(async () => {
      server = await backend.start();
      dsn = await server.load();
      store = await openFixtureStore(backend.kind, dsn);
      const recovered = await store.recover();
      assert.ok(recovered, 'the fixture recovers');
      state = recovered;
    });
    after(async () => {
      await store?.close().catch(() => undefined);
      await server?.stop();
    });

    it('recovers the server info', () => {
      assert.equal(state.info.ClusterID, manifest.cluster_id);
      assert.equal(state.info.Discovery, `_STAN.discover.${manifest.cluster_id}`);
      assert.equal(state.info.AcksSubs, `_STAN.ack.${manifest.cluster_id}`);
    });

    it('recovers the registered client and not the closed one', () => {
      assert.deepEqual(
        state.clients.map((c) => c.ID),
        manifest.clients.map((c) => c.client_id),
      );
      assert.equal(state.clients[0]!.HbInbox, perStore.clients[0]!.hb_inbox);
      for (const closed of manifest.closed_clients) assert.ok(!state.clients.some((c) => c.ID === closed.client_id));
    });

    it('recovers every channel with the counts, bytes and sequences of the SQL column', () => {
      assert.deepEqual([...state.channels.keys()].sort(), Object.keys(manifest.channels).sort());
      let totalMsgs = 0;
      let totalBytes = 0;
      for (const [name, expected] of Object.entries(manifest.channels)) {
        const msgs = state.channels.get(name)!.channel.msgs;
        const st = msgs.state();
        assert.equal(st.msgs, expected.msgs, `${name} msgs`);
        assert.equal(st.bytes, expected.bytes[backend.kind], `${name} bytes`);
        assert.deepEqual(msgs.firstAndLastSequence(), [expected.first_seq, expected.last_seq], `${name} first/last`);
        totalMsgs += st.msgs;
        totalBytes += st.bytes;
      }
      assert.equal(totalMsgs, manifest.server_totals.total_msgs);
      assert.equal(totalBytes, manifest.server_totals.total_bytes[backend.kind]);
      assert.equal(state.channels.size, manifest.server_totals.channels);
    });

    it('reads back every message with its payload, subject and exact timestamp', async () => {
      for (const [name, expected] of Object.entries(manifest.channels)) {
        const msgs = state.channels.get(name)!.channel.msgs;
        const recorded = timestamps[backend.kind]![name]!;
        assert.equal(Number(recorded.first_seq), expected.first_seq);
        assert.equal(Number(recorded.last_seq), expected.last_seq);
        const stamps = recorded.timestamps_ns;
        assert.equal(stamps.length, expected.msgs);
        const digest = createHash('sha256');
        for (let seq = expected.first_seq; seq <= expected.last_seq; seq++) {
          const m = await msgs.lookup(seq);
          assert.ok(m, `${name}:${seq} is found`);
          assert.equal(m.sequence, seq);
          assert.equal(m.subject, name);
          assert.deepEqual(Buffer.from(m.data), expectedData(name, seq), `${name}:${seq} payload`);
          assert.equal(m.timestamp, BigInt(stamps[seq - expected.first_seq]!), `${name}:${seq} timestamp`);
          const head = Buffer.alloc(12);
          head.writeBigUInt64BE(BigInt(seq), 0);
          head.writeUInt32BE(m.data.length, 8);
          digest.update(head).update(m.data);
        }
        assert.equal(digest.digest('hex'), perStore.payload_digest[name], `${name} payload digest`);
        for (const [seq, sample] of Object.entries(expected.samples)) {
          const m = await msgs.lookup(Number(seq));
          assert.equal(Buffer.from(m!.data).toString('base64'), sample.data_b64);
          assert.equal(createHash('sha256').update(m!.data).digest('hex'), sample.sha256);
        }
        for (const [seq, ts] of Object.entries(perStore.sample_timestamps_ns[name]!)) {
          assert.equal((await msgs.lookup(Number(seq)))!.timestamp, BigInt(ts));
        }
        assert.equal(await msgs.lookup(expected.first_seq - 1), undefined);
        assert.equal(await msgs.lookup(expected.last_seq + 1), undefined);
        assert.equal((await msgs.firstMsg())!.sequence, expected.first_seq);
        assert.equal((await msgs.lastMsg())!.sequence, expected.last_seq);
        const firstTs = BigInt(stamps[0]!);
        assert.equal(await msgs.getSequenceFromTimestamp(firstTs), expected.first_seq);
        assert.equal(await msgs.getSequenceFromTimestamp(BigInt(stamps[stamps.length - 1]!) + 1n), expected.last_seq + 1);
      }
    });

    it('recovers the subscriptions with their IDs, last sent and pending sequences, and not the deleted one', () => {
      const recovered = new Map<string, { channel: string; sub: SubState; pending: Set<number> }>();
      let count = 0;
      for (const [name, ch] of state.channels) {
        assert.equal(ch.subscriptions.length, manifest.channels[name]!.subs_count, `${name} subscriptions`);
        for (const s of ch.subscriptions) {
          recovered.set(recoveredKey(name, s.sub), { channel: name, sub: s.sub, pending: s.pending });
          count++;
        }
      }
      assert.equal(count, manifest.server_totals.subscriptions);
      for (const expected of manifest.subscriptions) {
        const got = recovered.get(subKey(expected));
        assert.ok(got, `subscription ${subKey(expected)} is recovered`);
        const ids = perStore.subscriptions.find((p) => subKey(p) === subKey(expected))!;
        assert.equal(got.sub.ID, ids.subid);
        assert.equal(got.sub.inbox, ids.inbox);
        assert.equal(got.sub.ackInbox, ids.ack_inbox);
        assert.equal(got.sub.clientID, expected.client_id);
        assert.equal(got.sub.isDurable, expected.is_durable);
        assert.equal(got.sub.maxInFlight, expected.max_inflight);
        assert.equal(got.sub.ackWaitInSecs, expected.ack_wait_seconds);
        assert.equal(got.sub.lastSent, expected.last_sent, `${subKey(expected)} last sent`);
        assert.deepEqual([...got.pending].sort((a, b) => a - b), expected.pending_sequences, `${subKey(expected)} pending`);
      }
      const closedDurable = recovered.get('events.eu|dur-closed|')!;
      assert.equal(closedDurable.sub.isClosed, true);
      for (const r of recovered.values()) assert.notEqual(r.sub.ID, perStore.deleted_subscription_subid);
    });

    it('goes on from the recovered state: new IDs after the highest (deleted) one, limits, pending and acks survive a restart', async () => {
      const orders = state.channels.get('orders')!;
      const limited = state.channels.get('limited')!;
      // A new subscription gets the ID after the soft-deleted one.
      const sub: SubState = {
        ID: 0,
        clientID: 'client-durable',
        qGroup: '',
        inbox: '_INBOX.new',
        ackInbox: '_INBOX.newack',
        maxInFlight: 10,
        ackWaitInSecs: 30,
        durableName: '',
        lastSent: 0,
        isDurable: false,
        isClosed: false,
      };
      await orders.channel.subs.createSub(sub);
      assert.equal(sub.ID, perStore.deleted_subscription_subid + 1);
      // dur-a acks 401..450 and gets 1001..1002 pending after two new messages.
      const durA = orders.subscriptions.find((s) => s.sub.durableName === 'dur-a')!;
      for (let seq = 401; seq <= 450; seq++) orders.channel.subs.ackSeqPending(durA.sub.ID, seq);
      const lastTs = BigInt(timestamps[backend.kind]!.orders!.timestamps_ns.at(-1)!);
      orders.channel.msgs.store({ sequence: 1001, subject: 'orders', reply: '', data: Buffer.from('order-1001'), timestamp: lastTs + 1n });
      orders.channel.msgs.store({ sequence: 1002, subject: 'orders', reply: '', data: Buffer.from('order-1002'), timestamp: lastTs + 2n });
      await orders.channel.msgs.flush();
      orders.channel.subs.addSeqPending(durA.sub.ID, 1001);
      orders.channel.subs.addSeqPending(durA.sub.ID, 1002);
      orders.channel.subs.ackSeqPending(durA.sub.ID, 1001);
      await orders.channel.subs.flush();
      // limited is at max_msgs 100: one more message drops 31.
      limited.channel.msgs.store({ sequence: 131, subject: 'limited', reply: '', data: Buffer.from('limited-131'), timestamp: BigInt(Date.now()) * 1_000_000n });
      await limited.channel.msgs.flush();
      assert.deepEqual(limited.channel.msgs.firstAndLastSequence(), [32, 131]);
      assert.equal(limited.channel.msgs.state().msgs, 100);
      await store.close();

      store = await openFixtureStore(backend.kind, dsn);
      const again = (await store.recover())!;
      const orders2 = again.channels.get('orders')!;
      assert.deepEqual(orders2.channel.msgs.firstAndLastSequence(), [1, 1002]);
      const durA2 = orders2.subscriptions.find((s) => s.sub.durableName === 'dur-a')!;
      const expectedPending = [...Array.from({ length: 50 }, (_, i) => 451 + i), 1002];
      assert.deepEqual([...durA2.pending].sort((a, b) => a - b), expectedPending);
      assert.equal(durA2.sub.lastSent, 1002);
      assert.ok(orders2.subscriptions.some((s) => s.sub.ID === sub.ID));
      const limited2 = again.channels.get('limited')!;
      assert.deepEqual(limited2.channel.msgs.firstAndLastSequence(), [32, 131]);
      assert.equal(Buffer.from((await limited2.channel.msgs.lookup(131))!.data).toString(), 'limited-131');
      // The dq group and the offline durable are untouched.
      const dq = orders2.subscriptions.find((s) => s.sub.qGroup === 'dqdur:workers')!;
      assert.equal(dq.pending.size, 50);
      assert.equal(again.channels.get('events.eu')!.subscriptions[0]!.sub.lastSent, 5);
    });
  });
}
