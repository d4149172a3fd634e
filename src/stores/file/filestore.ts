import { mkdir, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { type FileStoreOptions, defaultFileStoreOptions } from '../../config/options.js';
import type { Logger } from '../../log.js';
import type { ClientInfo, ServerInfo } from '../../proto/codec.js';
import { ErrAlreadyExists, ErrClosed, ErrNotFound, ErrTooManyChannels, StoreError } from '../errors.js';
import { type ChannelLimits, type StoreLimits, channelLimitsFor, defaultStoreLimits, isLimited } from '../limits.js';
import type { Channel, RecoveredChannel, RecoveredState, Store } from '../store.js';
import { ClientsFile } from './clients-file.js';
import { type Crc32, makeCrc32 } from './crc.js';
import { DirLock } from './dir-lock.js';
import { TRUNCATE_WITNESS_FILE } from './format.js';
import { FileMsgStore } from './msgstore.js';
import { readServerInfo, writeServerInfo } from './server-file.js';
import { FileSubStore } from './substore.js';

/** The Go server's error when a directory has channels but no server.dat content. */
export class ErrNoSrvButChannels extends StoreError {
  constructor() {
    super('no server state recovered but channels present');
  }
}

interface FileChannel extends Channel {
  readonly msgs: FileMsgStore;
  readonly subs: FileSubStore;
}

/**
 * The Go server's FILE store, on the same directory layout and byte format: server.dat, clients.dat, and one directory
 * per channel holding msgs.N.dat/msgs.N.idx slices and subs.dat. Either server can recover what the other wrote.
 */
export class FileStore implements Store {
  readonly type = 'FILE' as const;
  onFatal?: (err: Error) => void;
  private limits: StoreLimits = defaultStoreLimits();
  private readonly channels = new Map<string, FileChannel>();
  private readonly opts: FileStoreOptions;
  private readonly crc: Crc32;
  private readonly log: Logger;
  private readonly lock: DirLock;
  private clients: ClientsFile | undefined;
  private clientsOpening: Promise<ClientsFile> | undefined;
  private started: Promise<void> | undefined;
  private closed = false;

  constructor(
    readonly dir: string,
    opts: Partial<FileStoreOptions> = {},
    log?: Logger,
  ) {
    if (!dir) throw new StoreError('for FILE stores, root directory must be specified');
    this.opts = { ...defaultFileStoreOptions(), ...opts };
    this.crc = makeCrc32(this.opts.crcPolynomial);
    this.log = log ?? pino({ level: 'silent' });
    this.lock = new DirLock(dir, (err) => {
      this.log.error({ err, dir }, 'file store lock lost');
      this.onFatal?.(err);
    });
  }

  async getExclusiveLock(): Promise<boolean> {
    this.checkOpen();
    await this.start();
    return this.lock.acquire();
  }

  lockState(): { held: boolean; refreshedAt: number } {
    return { held: this.lock.held, refreshedAt: this.lock.refreshedAt };
  }

  async init(info: ServerInfo): Promise<void> {
    this.checkOpen();
    await this.start();
    await writeServerInfo(this.dir, info, this.crc);
  }

  async recover(): Promise<RecoveredState | undefined> {
    this.checkOpen();
    await this.start();
    const info = await readServerInfo(this.dir, this.crc, this.opts.doCRC);
    const names = await this.channelDirs();
    const clients = await this.clientsFile();
    if (!info) {
      if (names.length > 0) throw new ErrNoSrvButChannels();
      return undefined;
    }
    const channels = new Map<string, RecoveredChannel>();
    const workers = Math.max(1, this.opts.parallelRecovery);
    let next = 0;
    const recoverNext = async (): Promise<void> => {
      while (next < names.length) {
        const name = names[next++]!;
        try {
          const channel = await this.openChannel(name, true);
          this.channels.set(name, channel);
          channels.set(name, { channel, subscriptions: channel.subs.recovered() });
        } catch (err) {
          // The other workers stop at their current channel; what was opened is closed by close().
          next = names.length;
          throw err;
        }
      }
    };
    const results = await Promise.allSettled(Array.from({ length: Math.min(workers, names.length) }, recoverNext));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    // Workers finish in any order; hand the channels over in name order, as the directory listing gives them.
    const ordered = new Map([...channels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return { info, clients: clients.all(), channels: ordered };
  }

  setLimits(limits: StoreLimits): void {
    this.limits = limits;
  }

  getChannelLimits(name: string): ChannelLimits {
    return channelLimitsFor(this.limits, name);
  }

  async createChannel(name: string): Promise<Channel> {
    this.checkOpen();
    if (this.channels.has(name)) throw new ErrAlreadyExists(`channel ${name}`);
    // The name becomes a directory: a separator would nest it, and recovery would then see another channel.
    if (/[/\0]/.test(name) || name.startsWith('.')) throw new StoreError(`channel name "${name}" cannot be stored as a directory`);
    if (isLimited(this.limits.maxChannels) && this.channels.size >= this.limits.maxChannels) throw new ErrTooManyChannels();
    await this.start();
    await mkdir(join(this.dir, name), { recursive: true });
    const channel = await this.openChannel(name, false);
    if (this.channels.has(name)) {
      await Promise.allSettled([channel.msgs.close(), channel.subs.close()]);
      throw new ErrAlreadyExists(`channel ${name}`);
    }
    this.channels.set(name, channel);
    return channel;
  }

  async deleteChannel(name: string): Promise<void> {
    const channel = this.channels.get(name);
    if (!channel) throw new ErrNotFound(`channel ${name}`);
    this.channels.delete(name);
    await Promise.allSettled([channel.msgs.close(), channel.subs.close()]);
    await rm(join(this.dir, name), { recursive: true, force: true });
  }

  async addClient(info: ClientInfo): Promise<void> {
    this.checkOpen();
    await (await this.clientsFile()).add(info);
  }

  async deleteClient(clientId: string): Promise<void> {
    this.checkOpen();
    await (await this.clientsFile()).delete(clientId);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const errors: unknown[] = [];
    const settle = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (err) {
        errors.push(err);
      }
    };
    await Promise.all([...this.channels.values()].flatMap((c) => [settle(c.msgs.close()), settle(c.subs.close())]));
    this.channels.clear();
    const clients = this.clients ?? (await this.clientsOpening?.catch(() => undefined));
    if (clients) await settle(clients.close());
    await this.lock.unlock();
    if (errors.length > 0) throw errors[0];
  }

  private start(): Promise<void> {
    this.started ??= this.prepareDir();
    return this.started;
  }

  /**
   * Creates the root directory. With truncateUnexpectedEOF, a witness file makes the next start fail unless the option
   * has been turned off, so that a store is not silently truncated on every start (the Go store's safeguard).
   */
  private async prepareDir(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const witness = join(this.dir, TRUNCATE_WITNESS_FILE);
    if (!this.opts.truncateUnexpectedEOF) {
      await rm(witness, { force: true });
      return;
    }
    try {
      await (await open(witness, 'wx')).close();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new StoreError('file store should not be opened consecutively with the TruncateUnexpectedEOF option set to true');
      }
      throw err;
    }
  }

  private clientsFile(): Promise<ClientsFile> {
    if (this.clients) return Promise.resolve(this.clients);
    this.clientsOpening ??= ClientsFile.open(this.dir, this.opts, this.crc, this.log).then((f) => (this.clients = f));
    return this.clientsOpening;
  }

  /** Sub-directories are channels, except dot-directories, which no channel name can produce (our lock is one). */
  private async channelDirs(): Promise<string[]> {
    const entries = await readdir(this.dir, { withFileTypes: true });
    return entries
      .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
  }

  private async openChannel(name: string, recover: boolean): Promise<FileChannel> {
    const cfg = { dir: join(this.dir, name), channel: name, limits: this.getChannelLimits(name), opts: this.opts, crc: this.crc, log: this.log };
    const msgs = recover ? await FileMsgStore.recover(cfg) : await FileMsgStore.create(cfg);
    let subs: FileSubStore;
    try {
      subs = recover ? await FileSubStore.recover(cfg) : await FileSubStore.create(cfg);
    } catch (err) {
      await msgs.close().catch(() => undefined);
      throw err;
    }
    return { name, msgs, subs };
  }

  private checkOpen(): void {
    if (this.closed) throw new ErrClosed();
  }
}
