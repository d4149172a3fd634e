import type { ServerOptions } from '../config/options.js';
import type { Logger } from '../log.js';
import type { Store } from './store.js';

/**
 * The store the options ask for. Each store's module (and its drivers: pg and mysql2 for SQL) is loaded only when
 * used, which takes a noticeable part off the start-up and so off a failover.
 */
export async function createStore(opts: ServerOptions, log: Logger): Promise<Store> {
  switch (opts.storeType) {
    case 'MEMORY': {
      const { MemoryStore } = await import('./memory/memstore.js');
      return new MemoryStore();
    }
    case 'FILE': {
      const { FileStore } = await import('./file/filestore.js');
      return new FileStore(opts.dir, opts.file, log);
    }
    case 'SQL': {
      const { SqlStore } = await import('./sql/sqlstore.js');
      return SqlStore.open(opts.sql, log);
    }
  }
}
