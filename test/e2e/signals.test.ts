import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.js';
import { until } from '../helpers/stan-client.js';
import { freePort } from '../helpers/ports.js';
import { MAIN, runToExit } from '../helpers/stan-server.js';
import { startProcess } from '../helpers/process.js';

describe('log file, pid file and --signal', () => {
  let nats: NatsServer;
  let dir: string;
  before(async () => {
    nats = await startNatsServer();
    dir = await mkdtemp(join(tmpdir(), 'nss-signals-'));
  });
  after(async () => {
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the pid file, reopens a rotated log file on --signal reopen, and stops on --signal quit', async () => {
    const log = join(dir, 'server.log');
    const pid = join(dir, 'server.pid');
    const proc = startProcess(process.execPath, [MAIN, '-ns', nats.url, '-l', log, '-P', pid, '-m', String(await freePort())]);
    try {
      await until(() => existsSync(log) && readFileSync(log, 'utf8').includes('Streaming Server is ready'), 15_000, 'the ready line in the log file');
      assert.equal(Number(readFileSync(pid, 'utf8')), proc.child.pid);
      renameSync(log, `${log}.1`);
      const reopen = await runToExit(['--signal', 'reopen', '-P', pid]);
      assert.equal(reopen.code, 0);
      await until(() => existsSync(log) && readFileSync(log, 'utf8').includes('log file reopened'), 10_000, 'a new log file');
      const quit = await runToExit([`--signal=quit=${proc.child.pid}`]);
      assert.equal(quit.code, 0);
      assert.equal(await proc.exited(), 0);
      assert.equal(existsSync(pid), false);
    } finally {
      await proc.stop('SIGKILL');
    }
  });

  it('refuses an unknown signal and a missing process with exit code 1', async () => {
    const bad = await runToExit(['--signal', 'explode=1']);
    assert.equal(bad.code, 1);
    assert.match(bad.output, /unknown signal "explode"/);
    const none = await runToExit(['--signal', 'reopen']);
    assert.equal(none.code, 1);
    assert.match(none.output, /no process to signal/);
  });
});
