// Compiles src/stores/file/checksums.wat and writes the module's bytes into src/stores/file/checksums-wasm.ts, so that
// neither the build nor the server needs a WebAssembly toolchain. test/unit/checksums.test.ts checks they match.
import { readFile, writeFile } from 'node:fs/promises';
import wabt from 'wabt';

const dir = new URL('../src/stores/file/', import.meta.url).pathname;
const source = await readFile(`${dir}checksums.wat`, 'utf8');
const mod = (await wabt()).parseWat('checksums.wat', source);
mod.validate();
const bytes = Buffer.from(mod.toBinary({}).buffer).toString('base64');
await writeFile(
  `${dir}checksums-wasm.ts`,
  `/** checksums.wat compiled (base64); written by scripts/checksums-wasm.mjs, do not edit. */\nexport const CHECKSUMS_WASM = '${bytes}';\n`,
);
