/**
 * Memory and restart time of the FILE store with a large channel: stores `--n` messages of `--ms` bytes through the
 * real server process, reports its RSS (peak and once publishing is done), stops it, then times a restart on the same
 * directory from the spawn until the first accepted client connection (the page cache is warm by then).
 *
 * Runs compiled (dist/test/bench):
 *   npm run bench:file-restart -- [--n 1000000] [--ms 128] [--dir /tmp/stan-restart] [--server-args="--file_sync=false"] [--keep]
 */
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { startNatsServer } from '../helpers/nats-server.js';
import { freePort } from '../helpers/ports.js';
import { type Managed, startProcess } from '../helpers/process.js';
import { MAIN } from '../helpers/stan-server.js';
import { LiteStan } from './stan-client-lite.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '1000000' },
    ms: { type: 'string', default: '128' },
    mpa: { type: 'string', default: '1024' },
    dir: { type: 'string', default: '/tmp/stan-file-restart-bench' },
    'server-args': { type: 'string', default: '' },
    restarts: { type: 'string', default: '3' },
    /** Leave the store directory in place at the end (to profile a restart by hand). */
    keep: { type: 'boolean', default: false },
  },
});

const total = Number(values.n);
const size = Number(values.ms);
const dir = values.dir;
const clusterId = 'restart-bench';
const extraArgs = values['server-args'] ? values['server-args'].split(/\s+/).filter(Boolean) : [];

/** VmRSS and VmHWM (peak) of a process, in MB, from /proc (Linux). */
function memMB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

async function spawnServer(natsUrl: string): Promise<Managed> {
  const monitorPort = await freePort();
  return startProcess(process.execPath, [MAIN, '-ns', natsUrl, '-cid', clusterId, '-m', String(monitorPort), '-st', 'FILE', '--dir', dir, ...extraArgs]);
}

/** Connects as a client, retrying until the server answers; returns the connected client. */
async function connectWhenUp(url: string, proc: Managed, clientId: string): Promise<LiteStan> {
  for (;;) {
    if (proc.child.exitCode !== null) throw new Error(`server exited:\n${proc.output()}`);
    try {
      return await LiteStan.connect(url, clusterId, clientId);
    } catch {
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

async function main(): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  const nats = await startNatsServer();
  try {
    console.log(`file-restart-bench: ${total} msgs of ${size} bytes, dir ${dir}, server args: ${extraArgs.join(' ') || '(defaults)'}`);
    const first = await spawnServer(nats.url);
    const pid = first.child.pid!;
    await first.waitFor(/Streaming Server is ready/);
    const base = memMB(pid);
    let peakSeen = base.rss;
    const sampler = setInterval(() => {
      try {
        peakSeen = Math.max(peakSeen, memMB(pid).rss);
      } catch {
        // the process is gone
      }
    }, 50);
    const sc = await LiteStan.connect(nats.url, clusterId, 'restart-bench-pub');
    const started = performance.now();
    await sc.publishAsync('restart.bench', total, Buffer.alloc(size, 'x'), Number(values.mpa), () => undefined);
    const secs = (performance.now() - started) / 1000;
    await sc.close();
    await new Promise((r) => setTimeout(r, 1000));
    clearInterval(sampler);
    const after = memMB(pid);
    console.log(`stored ${total} msgs in ${secs.toFixed(1)} s (${Math.round(total / secs)} msgs/s)`);
    console.log(
      `RSS: at start ${base.rss.toFixed(0)} MB, peak ${Math.max(after.peak, peakSeen).toFixed(0)} MB, after storing ${after.rss.toFixed(0)} MB`,
    );
    await first.stop('SIGTERM');

    const times: number[] = [];
    for (let i = 0; i < Number(values.restarts); i++) {
      const t0 = performance.now();
      const proc = await spawnServer(nats.url);
      const client = await connectWhenUp(nats.url, proc, `restart-bench-check-${i}`);
      const ms = performance.now() - t0;
      times.push(ms);
      await client.close();
      const mem = memMB(proc.child.pid!);
      console.log(`restart ${i + 1}: first client connection accepted after ${(ms / 1000).toFixed(3)} s; RSS ${mem.rss.toFixed(0)} MB (peak ${mem.peak.toFixed(0)} MB)`);
      await proc.stop('SIGTERM');
    }
    const sorted = [...times].sort((a, b) => a - b);
    console.log(`restart median: ${(sorted[sorted.length >> 1]! / 1000).toFixed(3)} s`);
  } finally {
    await nats.stop();
    if (!values.keep) await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
