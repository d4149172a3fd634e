import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.js';
import { closeStan, connectStan, publish } from '../helpers/stan-client.js';
import { startStanServer } from '../helpers/stan-server.js';

describe('memory once traffic stops', () => {
  let nats: NatsServer;
  let dir: string;

  before(async () => {
    nats = await startNatsServer();
    dir = await mkdtemp(join(tmpdir(), 'nss-idle-'));
  });
  after(async () => {
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('is given back after a burst of publishes, and the server goes on serving', async () => {
    const server = await startStanServer(nats.url, ['-st', 'FILE', '--dir', dir, '-SD'], 'idle-cluster');
    try {
      const sc = await connectStan('idle-cluster', 'idle-pub', nats.url);
      const payload = Buffer.alloc(1024, 'i');
      for (let chunk = 0; chunk < 40; chunk++) {
        await Promise.all(Array.from({ length: 1000 }, () => publish(sc, 'idle.a', payload)));
      }
      const line = await server.proc.waitFor(/\{[^\n]*idle: memory given back[^\n]*\}/, 30_000);
      const { beforeMB, afterMB } = JSON.parse(line) as { beforeMB: number; afterMB: number };
      assert.ok(afterMB < beforeMB, `heap and buffers: ${beforeMB} MB before, ${afterMB} MB after`);
      await publish(sc, 'idle.a', 'after');
      const { body } = await server.monitor('/streaming/channelsz?channel=idle.a');
      assert.equal(body.msgs, 40_001);
      await closeStan(sc);
    } finally {
      await server.stop();
    }
  });
});
