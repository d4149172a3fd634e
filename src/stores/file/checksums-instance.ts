import { CHECKSUMS_WASM } from './checksums-wasm.js';

/** Where checksums.wat expects its tables (8 tables of 256 words); the data goes after them. */
export const TABLES_BYTES = 8 * 256 * 4;
export const WASM_PAGE = 64 * 1024;

/** WebAssembly memory is little-endian; the tables are copied into it as words of this machine. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export interface ChecksumsExports {
  firstBadEntry(at: number, count: number): number;
  fillRecordCrcs(at: number, end: number): void;
  fillEntryCrcs(at: number, count: number): void;
}

export interface ChecksumsInstance {
  memory: WebAssembly.Memory;
  exports: ChecksumsExports;
}

let compiled: WebAssembly.Module | undefined;

/**
 * An instance of checksums.wat with room for `dataBytes` after the given slicing-by-8 tables, or undefined where it
 * cannot run: no WebAssembly (node --jitless), no address space for its memory (a low ulimit -v), a big-endian machine.
 */
export function checksumsInstance(tables: Uint32Array, dataBytes: number): ChecksumsInstance | undefined {
  if (!LITTLE_ENDIAN) return undefined;
  try {
    compiled ??= new WebAssembly.Module(Buffer.from(CHECKSUMS_WASM, 'base64'));
    const memory = new WebAssembly.Memory({ initial: Math.ceil((TABLES_BYTES + dataBytes) / WASM_PAGE) });
    const exports = new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as ChecksumsExports;
    new Uint32Array(memory.buffer, 0, tables.length).set(tables);
    return { memory, exports };
  } catch {
    return undefined;
  }
}
