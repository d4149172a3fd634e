import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.js';
import { freePort } from '../helpers/ports.js';
import { startProcess } from '../helpers/process.js';
import { until } from '../helpers/stan-client.js';
import { MAIN } from '../helpers/stan-server.js';

const cacheFiles = (dir: string) => readdirSync(dir).filter((f) => /^server\..*\.cache$/.test(f));

describe('command-line entry and its code cache', () => {
  let nats: NatsServer;
  let bin: string;
  before(async () => {
    nats = await startNatsServer();
    // A copy of the built entry and bundle in a folder of its own, under dist/ so that node_modules is found as from
    // dist/bin; other tests' servers write their cache into dist/bin, never here.
    bin = await mkdtemp(join(dirname(dirname(MAIN)), 'launch-test-'));
    for (const f of ['nats-streaming-server.cjs', 'server.cjs']) copyFileSync(join(dirname(MAIN), f), join(bin, f));
  });
  after(async () => {
    await nats?.stop();
    await rm(bin, { recursive: true, force: true });
  });

  const serve = async () => {
    const monitor = await freePort();
    const proc = startProcess(process.execPath, [join(bin, 'nats-streaming-server.cjs'), '-ns', nats.url, '-cid', 'launch-test', '-m', String(monitor)]);
    await proc.waitFor(/Streaming Server is ready/);
    const serverz = (await (await fetch(`http://127.0.0.1:${monitor}/streaming/serverz`)).json()) as { cluster_id: string };
    assert.equal(serverz.cluster_id, 'launch-test');
    return proc;
  };

  it('writes a code cache for this build of the bundle and drops caches of other builds', async () => {
    writeFileSync(join(bin, 'server.old-build.cache'), 'stale');
    const proc = await serve();
    try {
      await until(() => cacheFiles(bin).length === 1 && !existsSync(join(bin, 'server.old-build.cache')), 20_000, 'the code cache');
    } finally {
      assert.equal(await proc.stop(), 0);
    }
  });

  it('serves when its cache cannot be used, and writes a good one', async () => {
    const [cache] = cacheFiles(bin);
    assert.ok(cache, 'the cache written by the test before');
    writeFileSync(join(bin, cache), 'not a V8 code cache');
    const proc = await serve();
    try {
      await until(() => (statSync(join(bin, cache), { throwIfNoEntry: false })?.size ?? 0) > 1000, 20_000, 'a new code cache');
    } finally {
      assert.equal(await proc.stop(), 0);
    }
  });
});

