import type { ServerOptions } from '../config/options.js';
import type { Logger } from '../log.js';
import { FileStore } from './file/filestore.js';
import { MemoryStore } from './memory/memstore.js';
import { SqlStore } from './sql/sqlstore.js';
import type { Store } from './store.js';

/** The store the options ask for. */
export async function createStore(opts: ServerOptions, log: Logger): Promise<Store> {
  switch (opts.storeType) {
    case 'MEMORY':
      return new MemoryStore();
    case 'FILE':
      return new FileStore(opts.dir, opts.file, log);
    case 'SQL':
      return SqlStore.open(opts.sql, log);
  }
}
