// Compiles src/stores/file/index-crc.wat and writes the module's bytes into src/stores/file/index-crc-wasm.ts, so that
// neither the build nor the server needs a WebAssembly toolchain. test/unit/index-crc.test.ts checks they match.
import { readFile, writeFile } from 'node:fs/promises';
import wabt from 'wabt';

const dir = new URL('../src/stores/file/', import.meta.url).pathname;
const source = await readFile(`${dir}index-crc.wat`, 'utf8');
const mod = (await wabt()).parseWat('index-crc.wat', source);
mod.validate();
const bytes = Buffer.from(mod.toBinary({}).buffer).toString('base64');
await writeFile(
  `${dir}index-crc-wasm.ts`,
  `/** index-crc.wat compiled (base64); written by scripts/index-crc-wasm.mjs, do not edit. */\nexport const INDEX_CRC_WASM = '${bytes}';\n`,
);
