import assert from 'node:assert/strict';
import { statSync, truncateSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.js';
import { closeStan, connectStan, publish, subscribe, until } from '../helpers/stan-client.js';
import { runToExit, startStanServer } from '../helpers/stan-server.js';

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

  it('refuses to start on a truncated last record, naming the file and offset, and recovers with --file_truncate_bad_eof', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nss-e2e-bad-eof-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const store = ['-st', 'FILE', '--dir', dir];
    const cli = ['-ns', nats.url, '-cid', 'eof-cluster', ...store];
    const first = await startStanServer(nats.url, store, 'eof-cluster');
    const pub = await connectStan('eof-cluster', 'eof-pub', nats.url);
    for (let i = 1; i <= 5; i++) await publish(pub, 'eof', `e${i}`);
    await closeStan(pub);
    assert.equal(await first.stop(), 0);
    const dat = join(dir, 'eof', 'msgs.1.dat');
    truncateSync(dat, statSync(dat).size - 3);

    const refused = await runToExit(cli);
    assert.equal(refused.code, 1, refused.output);
    assert.match(refused.output, /eof\/msgs\.1\.dat" at offset \d+: unexpected end of file/);

    const repaired = await startStanServer(nats.url, [...store, '--file_truncate_bad_eof'], 'eof-cluster');
    try {
      assert.match(repaired.proc.output(), /"lostBytes":\d+.*the partial record is lost/);
      const { body } = await repaired.monitor('/streaming/channelsz?channel=eof');
      assert.deepEqual([body.msgs, body.last_seq], [4, 4]);
    } finally {
      await repaired.stop();
    }
    // As with the Go server, the option is for one start: the next one must be without it.
    const again = await runToExit([...cli, '--file_truncate_bad_eof']);
    assert.equal(again.code, 1, again.output);
    assert.match(again.output, /should not be opened consecutively/);
  });
});
