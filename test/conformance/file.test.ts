import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore } from '../../src/stores/file/filestore.js';
import { storeConformance } from './suite.js';

let dir = '';

storeConformance('file', {
  create: async () => {
    dir = await mkdtemp(join(tmpdir(), 'nss-file-conf-'));
    return new FileStore(dir);
  },
  reopen: async () => new FileStore(dir),
  cleanup: async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  },
});
