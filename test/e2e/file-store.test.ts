import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.js';
import { closeStan, connectStan, publish, subscribe, until } from '../helpers/stan-client.js';
import { startStanServer } from '../helpers/stan-server.js';

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
