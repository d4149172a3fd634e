/** The FILE store written by the Go server v0.25.6 (shared/fixtures/go-0.25.6), copied to a temporary directory. */
import { chmod, cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type FileStoreOptions, defaultFileStoreOptions } from '../../src/config/options.js';
import { type StoreLimits, defaultStoreLimits } from '../../src/stores/limits.js';

/** shared/ sits beside the project's clone (as on CI); NSS_GO_FIXTURES overrides. */
export const GO_FIXTURES = process.env.NSS_GO_FIXTURES ?? fileURLToPath(new URL('../../../shared/fixtures/go-0.25.6', import.meta.url));

export interface ManifestSub {
  channel: string;
  client_id: string;
  durable_name: string | null;
  queue_name: string | null;
  is_durable: boolean;
  is_offline: boolean;
  max_inflight: number;
  ack_wait_seconds: number;
  last_sent: number;
  pending_count: number;
  pending_sequences: number[];
}

export interface Manifest {
  cluster_id: string;
  channels: Record<string, { msgs: number; bytes: { file: number }; first_seq: number; last_seq: number; subs_count: number }>;
  subscriptions: ManifestSub[];
  clients: { client_id: string }[];
  closed_clients: { client_id: string }[];
  server_totals: { clients: number; subscriptions: number; channels: number; total_msgs: number; total_bytes: { file: number } };
  per_store: {
    file: {
      clients: { client_id: string; hb_inbox: string }[];
      subscriptions: { channel: string; client_id: string; durable_name: string | null; queue_name: string | null; inbox: string; ack_inbox: string; subid: number }[];
      deleted_subscription_subid: number;
      sample_timestamps_ns: Record<string, Record<string, string>>;
      payload_digest: Record<string, string>;
    };
  };
}

export function manifest(): Manifest {
  return JSON.parse(readFileSync(join(GO_FIXTURES, 'manifest.json'), 'utf8')) as Manifest;
}

/** Every stored timestamp, per channel, as read back by the Go server: entry i is sequence first_seq + i. */
export function fixtureTimestamps(): Record<string, { first_seq: number; last_seq: number; timestamps_ns: string[] }> {
  return (JSON.parse(readFileSync(join(GO_FIXTURES, 'timestamps.json'), 'utf8')) as { file: Record<string, { first_seq: number; last_seq: number; timestamps_ns: string[] }> }).file;
}

/** The payload the fixture's driver published for a sequence. */
export function expectedPayload(channel: string, seq: number): Buffer {
  if (channel === 'orders') return Buffer.from(`order-${seq}`);
  if (channel === 'limited') return Buffer.from(`limited-${seq}`);
  if (channel === 'events.eu') {
    const len = [0, 1, 255, 256, 4096][seq - 1]!;
    return Buffer.from(Array.from({ length: len }, (_, i) => i % 256));
  }
  throw new Error(`unknown fixture channel ${channel}`);
}

/** stan.conf's limits: the global defaults, and max_msgs 100 on `limited`. */
export function fixtureLimits(): StoreLimits {
  const limits = defaultStoreLimits();
  limits.perChannel.set('limited', { maxMsgs: 100 });
  return limits;
}

/** stan.conf's file options: the defaults with no slice byte limit. */
export function fixtureFileOptions(overrides: Partial<FileStoreOptions> = {}): FileStoreOptions {
  return { ...defaultFileStoreOptions(), sliceMaxBytes: 0, ...overrides };
}

async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await makeWritable(p);
    else await chmod(p, 0o644);
  }
}

/** A writable copy of the fixture's store directory; the shared fixture itself is never written. */
export async function copyGoStore(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const base = await mkdtemp(join(tmpdir(), 'nss-go-fixture-'));
  const dir = join(base, 'file');
  await cp(join(GO_FIXTURES, 'file'), dir, { recursive: true });
  await makeWritable(dir);
  return { dir, cleanup: () => rm(base, { recursive: true, force: true }) };
}
