import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';
import { type Managed, startProcess } from './process.js';

/** The project root, whether this file runs from test/ (tsx) or from dist/test/ (compiled). */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

/** The command line as installed: the bundled entry (see scripts/bundle.mjs). */
export const MAIN = join(projectRoot(), 'dist', 'bin', 'nats-streaming-server.cjs');

export interface StanProcess {
  proc: Managed;
  monitorPort: number;
  clusterId: string;
  /** GET a monitoring endpoint and parse its JSON. */
  monitor(path: string): Promise<{ status: number; body: any }>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs the real server process (built into dist/) against a NATS server, and waits until it serves. */
export async function startStanServer(
  natsUrl: string,
  args: string[] = [],
  clusterId = 'test-cluster',
  nodeArgs: string[] = [],
  /** What the log says once the process is up: serving by default; an FT standby says it waits. */
  readyPattern: RegExp = /Streaming Server is ready/,
  /** Another server binary with the same flags (the Go server, for benchmark comparisons); ours by default. */
  serverBin?: string,
): Promise<StanProcess> {
  const monitorPort = await freePort();
  const [command, entry] = serverBin ? [serverBin, []] : [process.execPath, [...nodeArgs, MAIN]];
  const proc = startProcess(command, [...entry, '-ns', natsUrl, '-cid', clusterId, '-m', String(monitorPort), '-a', '127.0.0.1', ...args]);
  await proc.waitFor(readyPattern);
  return {
    proc,
    monitorPort,
    clusterId,
    async monitor(path: string) {
      const res = await fetch(`http://127.0.0.1:${monitorPort}${path}`);
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, body };
    },
    stop: (signal) => proc.stop(signal),
  };
}

/** Runs the server binary with arguments and returns its exit code and output, for flag and start-up errors. */
export async function runToExit(args: string[], ms = 15000): Promise<{ code: number | null; output: string }> {
  const proc = startProcess(process.execPath, [MAIN, ...args]);
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), ms);
  const code = await proc.exited();
  clearTimeout(timer);
  return { code, output: proc.output() };
}
