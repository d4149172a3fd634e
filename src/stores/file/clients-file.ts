import { join } from 'node:path';
import type { FileStoreOptions } from '../../config/options.js';
import type { Logger } from '../../log.js';
import { type ClientInfo, spb } from '../../proto/codec.js';
import { AppendLog } from './append-log.js';
import { compactionDue } from './compaction.js';
import type { Crc32 } from './crc.js';
import { CLIENTS_FILE, ClientRecordType, CorruptFileError } from './format.js';
import { openStoreFile, scanRecords, settleScanEnd } from './io.js';

/** clients.dat: add and delete records, replayed on recovery; the last add of a client ID wins. */
export class ClientsFile {
  private readonly clients = new Map<string, ClientInfo>();
  private deleted = 0;
  private lastCompact = 0;

  private constructor(
    private readonly log: AppendLog,
    private readonly opts: FileStoreOptions,
    private readonly logger: Logger,
  ) {}

  /** Opens (creating if needed) and replays the file in `dir`. */
  static async open(dir: string, opts: FileStoreOptions, crc: Crc32, logger: Logger): Promise<ClientsFile> {
    const path = join(dir, CLIENTS_FILE);
    const { fh } = await openStoreFile(path);
    const clients = new Map<string, ClientInfo>();
    let deleted = 0;
    let end: number;
    try {
      const scan = await scanRecords(fh, path, true, opts.doCRC ? crc : undefined, (type, payload, offset) => {
        try {
          if (type === ClientRecordType.Add) {
            const info = spb.ClientInfo.decode(payload);
            clients.set(info.ID, info);
          } else if (type === ClientRecordType.Delete) {
            clients.delete(spb.ClientDelete.decode(payload).ID);
            deleted++;
          } else {
            throw new CorruptFileError(path, offset, `invalid client record type: ${type}`);
          }
        } catch (err) {
          if (err instanceof CorruptFileError) throw err;
          throw new CorruptFileError(path, offset, `cannot decode record: ${(err as Error).message}`);
        }
      });
      end = await settleScanEnd(scan, fh, path, opts.truncateUnexpectedEOF, logger);
    } catch (err) {
      await fh.close();
      throw err;
    }
    const file = new ClientsFile(AppendLog.adopt(path, fh, end, crc, opts.doSync, opts.autoSync), opts, logger);
    for (const [id, info] of clients) file.clients.set(id, info);
    file.deleted = deleted;
    return file;
  }

  all(): ClientInfo[] {
    return [...this.clients.values()];
  }

  async add(info: ClientInfo): Promise<void> {
    this.log.append(ClientRecordType.Add, spb.ClientInfo.encode(info));
    this.clients.set(info.ID, { ...info });
    await this.log.flush();
  }

  async delete(clientId: string): Promise<void> {
    this.log.append(ClientRecordType.Delete, spb.ClientDelete.encode({ ID: clientId }));
    this.clients.delete(clientId);
    this.deleted++;
    await this.log.flush();
    const frag = Math.floor((this.deleted * 100) / (this.deleted + this.clients.size));
    if (compactionDue(this.opts, this.log.size, frag, this.lastCompact)) await this.compact();
  }

  close(): Promise<void> {
    return this.log.close();
  }

  private async compact(): Promise<void> {
    this.lastCompact = Date.now();
    await this.log.rewrite(() => [...this.clients.values()].map((c) => ({ type: ClientRecordType.Add, payload: spb.ClientInfo.encode(c) })));
    this.deleted = 0;
    this.logger.debug({ clients: this.clients.size }, 'clients file compacted');
  }
}
