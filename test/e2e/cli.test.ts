import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.js';
import { freePort } from '../helpers/ports.js';
import { type Managed, startProcess } from '../helpers/process.js';
import { StanConns, unique } from '../helpers/raw.js';
import { closeStan, publish, subscribe, until } from '../helpers/stan-client.js';
import { MAIN, runToExit, startStanServer } from '../helpers/stan-server.js';

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('command line', () => {
  const conns = new StanConns();
  const running: Managed[] = [];
  let nats: NatsServer;

  before(async () => {
    nats = await startNatsServer();
  });
  after(async () => {
    await conns.closeAll();
    for (const p of running) await p.stop('SIGKILL');
    await nats?.stop();
  });

  describe('bad flags and values exit 1 and say what is wrong', { concurrency: true }, () => {
    for (const [args, mentions] of [
      [['-hbi', '5x'], ['5x', 'hbi']],
      [['--hb_interval=5x'], ['5x', 'hb_interval']],
      [['-mm', 'abc'], ['abc', 'mm']],
      [['-mb', '12XB'], ['12XB', 'mb']],
      [['-ma', 'forever'], ['forever', 'ma']],
      [['-p', 'port'], ['port', 'p']],
      [['--nope'], ['nope']],
      [['-x'], ['-x']],
      [['-st', 'CASSANDRA'], ['CASSANDRA']],
      [['-mc', '-1'], ['max channels', '-1']],
      [['-cid'], ['cid']],
    ] as const) {
      it(`${args.join(' ')}`, async () => {
        const { code, output } = await runToExit([...args]);
        assert.equal(code, 1, output);
        for (const m of mentions) assert.ok(output.includes(m), `output should mention ${m}:\n${output}`);
        assert.doesNotMatch(output, /Streaming Server is ready/);
      });
    }
  });

  it('-h prints the usage and exits 0', async () => {
    const { code, output } = await runToExit(['-h']);
    assert.equal(code, 0);
    assert.match(output, /Usage/);
    for (const f of ['-cid', '-st', '-mc', '-mm', '-hbi', '-ns', '--replace_durable']) assert.ok(output.includes(f), `usage should list ${f}`);
    const long = await runToExit(['--help']);
    assert.equal(long.code, 0);
    assert.match(long.output, /Usage/);
  });

  it('-v prints a version and exits 0', async () => {
    const { code, output } = await runToExit(['-v']);
    assert.equal(code, 0);
    assert.match(output, /version/i);
    assert.match(output, /\d+\.\d+\.\d+/);
    assert.doesNotMatch(output, /Streaming Server is ready/);
  });

  it('without -ns starts its own nats-server on -p, serves clients on it, and stops it on SIGTERM with exit 0', async () => {
    const port = await freePort();
    const cid = 'cli-embedded';
    const proc = startProcess(process.execPath, [MAIN, '-p', String(port), '-cid', cid, '-a', '127.0.0.1']);
    running.push(proc);
    await proc.waitFor(/Streaming Server is ready/, 20000);
    const url = `nats://127.0.0.1:${port}`;
    const sc = await conns.connect(cid, unique('embedded'), url);
    const ch = unique('embedded.ch');
    const { got } = await subscribe(sc, ch, undefined, sc.subscriptionOptions().setDeliverAllAvailable());
    await publish(sc, ch, 'via the child');
    await until(() => got.length === 1);
    assert.equal(got[0]!.data, 'via the child');
    await closeStan(sc);
    assert.equal(await portOpen(port), true);
    const code = await proc.stop('SIGTERM');
    assert.equal(code, 0, proc.output());
    assert.equal(await portOpen(port), false, 'the nats-server child is stopped too');
  });

  it('with -ns exits 0 on SIGTERM and SIGINT', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const srv = await startStanServer(nats.url, [], `cli-${signal.toLowerCase()}`);
      running.push(srv.proc);
      const code = await srv.stop(signal);
      assert.equal(code, 0, srv.proc.output());
    }
  });

  it('exits 0 on SIGTERM while it is still waiting for an unreachable NATS server', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nss-cli-nonats-'));
    try {
      const proc = startProcess(process.execPath, [MAIN, '-ns', `nats://127.0.0.1:${await freePort()}`, '-st', 'FILE', '--dir', dir]);
      running.push(proc);
      // The store is locked and recovered meanwhile; the lock directory tells that start-up got that far.
      await until(() => existsSync(join(dir, '.nss-ts.lock')), 10_000, 'the store lock');
      assert.equal(await proc.stop('SIGTERM'), 0, proc.output());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('stops and exits 2 when the lock of its FILE store is lost', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nss-cli-lock-'));
    try {
      const srv = await startStanServer(nats.url, ['-st', 'FILE', '--dir', dir], 'cli-lock');
      running.push(srv.proc);
      // What another process taking the store over would do: the lock is no longer ours.
      await rm(join(dir, '.nss-ts.lock'), { recursive: true, force: true });
      assert.equal(await srv.proc.exited(), 2, srv.proc.output());
      assert.match(srv.proc.output(), /file store lock lost/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start next to another server with the same cluster ID', async () => {
    const first = await startStanServer(nats.url, [], 'cli-twice');
    running.push(first.proc);
    const { code, output } = await runToExit(['-ns', nats.url, '-cid', 'cli-twice', '-a', '127.0.0.1']);
    assert.equal(code, 1);
    assert.match(output, /discovered another streaming server with cluster ID "cli-twice"/);
    await first.stop();
  });
});
