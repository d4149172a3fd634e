import type { ServerOptions } from '../config/options.js';
import type { Logger } from '../log.js';
import { ErrNotSupported } from './errors.js';
import { MemoryStore } from './memory/memstore.js';
import type { Store } from './store.js';

/** The store the options ask for. */
export async function createStore(opts: ServerOptions, _log: Logger): Promise<Store> {
  switch (opts.storeType) {
    case 'MEMORY':
      return new MemoryStore();
    case 'FILE':
    case 'SQL':
      throw new ErrNotSupported(`the ${opts.storeType} store is not available in this version yet`);
  }
}
