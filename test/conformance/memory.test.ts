import { MemoryStore } from '../../src/stores/memory/memstore.js';
import { storeConformance } from './suite.js';

storeConformance('memory', { create: async () => new MemoryStore() });
