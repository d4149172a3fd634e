import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GO_FIXTURES, copyGoStore, expectedPayload } from '../helpers/go-fixture.js';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.js';
import { closeStan, connectStan, publish, subscribe, until } from '../helpers/stan-client.js';
import { startStanServer } from '../helpers/stan-server.js';

/** Monitoring JSON without the fields that change from run to run. */
function stable(o: unknown): unknown {
  if (Array.isArray(o)) return o.map(stable);
  if (o && typeof o === 'object') {
    return Object.fromEntries(
      Object.entries(o)
        .filter(([k]) => !['now', 'server_id', 'is_stalled'].includes(k))
        .map(([k, v]) => [k, stable(v)]),
    );
  }
  return o;
}

describe('FILE store through the server', () => {
  let nats: NatsServer;
  const cleanups: (() => Promise<void>)[] = [];

  before(async () => {
    nats = await startNatsServer();
  });
  after(async () => {
    for (const c of cleanups) await c();
    await nats.stop();
  });

  it('serves the store the Go server left and reports what the Go server reported after its own restart', async () => {
    const { dir, cleanup } = await copyGoStore();
    cleanups.push(cleanup);
    const server = await startStanServer(nats.url, ['-st', 'FILE', '--dir', dir, '-sc', join(GO_FIXTURES, 'stan.conf')], 'fixture-cluster');
    try {
      for (const endpoint of ['channelsz', 'clientsz']) {
        const got = await server.monitor(`/streaming/${endpoint}?subs=1`);
        const want = JSON.parse(readFileSync(join(GO_FIXTURES, 'verify', 'file', `${endpoint}.json`), 'utf8')) as unknown;
        assert.deepEqual(stable(got.body), stable(want), endpoint);
      }
      const sc = await connectStan('fixture-cluster', 'e2e-file-reader', nats.url);
      try {
        const { got } = await subscribe(sc, 'limited', undefined, sc.subscriptionOptions().setDeliverAllAvailable());
        await until(() => got.length >= 100, 10000, '100 messages of `limited`');
        assert.deepEqual(
          got.map((m) => m.seq),
          Array.from({ length: 100 }, (_, i) => 31 + i),
        );
        for (const m of got) assert.equal(m.data, expectedPayload('limited', m.seq).toString());
      } finally {
        await closeStan(sc);
      }
    } finally {
      await server.stop();
    }
  });

  it('keeps every acknowledged publish across a SIGKILL', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nss-e2e-file-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const args = ['-st', 'FILE', '--dir', dir];
    const first = await startStanServer(nats.url, args, 'kill-cluster');
    const pub = await connectStan('kill-cluster', 'e2e-file-pub', nats.url);
    await Promise.all(Array.from({ length: 200 }, (_, i) => publish(pub, 'persisted', `p${i + 1}`)));
    await first.stop('SIGKILL');
    pub.close();
    const second = await startStanServer(nats.url, args, 'kill-cluster');
    try {
      const sc = await connectStan('kill-cluster', 'e2e-file-sub', nats.url);
      try {
        const { got } = await subscribe(sc, 'persisted', undefined, sc.subscriptionOptions().setDeliverAllAvailable());
        await until(() => got.length >= 200, 10000, '200 messages');
        assert.deepEqual(
          got.map((m) => m.data),
          Array.from({ length: 200 }, (_, i) => `p${i + 1}`),
        );
      } finally {
        await closeStan(sc);
      }
    } finally {
      await second.stop();
    }
  });
});
