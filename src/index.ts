/** nats-streaming-ts: embed a NATS Streaming server in a Node program. */
export { StanServer, type ServerState } from './server/server.js';
export { runServer, type RunningServer } from './runner.js';
export { defaultOptions, type ServerOptions, type FileStoreOptions, type SqlStoreOptions } from './config/options.js';
export { loadOptions } from './config/load.js';
export { createLogger } from './log.js';
export { MemoryStore } from './stores/memory/memstore.js';
export type { Store, MsgStore, SubStore, Channel, RecoveredState } from './stores/store.js';
export * from './stores/errors.js';
export { VERSION } from './version.js';
