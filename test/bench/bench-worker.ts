import { parentPort, workerData } from 'node:worker_threads';
import { LiteStan } from './stan-client-lite.js';

export interface WorkerJob {
  role: 'pub' | 'sub';
  url: string;
  clusterId: string;
  clientId: string;
  subject: string;
  count: number;
  size: number;
  maxPubAcks: number;
  maxInFlight: number;
}

export interface WorkerResult {
  role: 'pub' | 'sub';
  count: number;
  startMs: number;
  endMs: number;
  latenciesMs: number[];
}

const job = workerData as WorkerJob;
const port = parentPort!;

async function run(): Promise<void> {
  const sc = await LiteStan.connect(job.url, job.clusterId, job.clientId);
  if (job.role === 'sub') {
    let n = 0;
    let startMs = 0;
    await sc.subscribe(job.subject, job.maxInFlight, () => {
      if (n === 0) startMs = Date.now();
      if (++n === job.count) {
        const endMs = Date.now();
        void sc.close().then(() => port.postMessage({ role: 'sub', count: n, startMs, endMs, latenciesMs: [] } satisfies WorkerResult));
      }
    });
    port.postMessage('ready');
    return;
  }
  await new Promise<void>((resolve) => port.once('message', () => resolve()));
  const payload = new Uint8Array(job.size).fill(97);
  const latenciesMs: number[] = [];
  const startMs = Date.now();
  await sc.publishAsync(job.subject, job.count, payload, job.maxPubAcks, (l) => latenciesMs.push(l));
  const endMs = Date.now();
  await sc.close();
  port.postMessage({ role: 'pub', count: job.count, startMs, endMs, latenciesMs } satisfies WorkerResult);
}

run().catch((err: unknown) => {
  port.postMessage({ error: String(err) });
});
