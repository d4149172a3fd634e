import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { type ServerInfo, spb } from '../../proto/codec.js';
import type { Crc32 } from './crc.js';
import { CorruptFileError, RECORD_HEADER_SIZE, REC_NO_TYPE, SERVER_FILE, VERSION_SIZE, decodeRecordHeader, encodeRecord, versionHeader } from './format.js';
import { hex, openStoreFile, readFully } from './io.js';

/** server.dat: the version header and one untyped ServerInfo record, rewritten in place by init. */
export async function readServerInfo(dir: string, crc: Crc32, doCRC: boolean): Promise<ServerInfo | undefined> {
  const path = join(dir, SERVER_FILE);
  const { fh, size } = await openStoreFile(path);
  try {
    if (size === VERSION_SIZE) return undefined;
    const fail = (reason: string, eof = false) => new CorruptFileError(path, VERSION_SIZE, reason, eof);
    if (size < VERSION_SIZE + RECORD_HEADER_SIZE) throw fail('unexpected end of file in the record header', true);
    const buf = Buffer.allocUnsafe(size - VERSION_SIZE);
    await readFully(fh, buf, VERSION_SIZE);
    const h = decodeRecordHeader(buf, 0, false);
    const expected = VERSION_SIZE + RECORD_HEADER_SIZE + h.size;
    if (size !== expected) throw fail(`incorrect file size, expected ${expected} bytes, got ${size} bytes`, size < expected);
    const payload = buf.subarray(RECORD_HEADER_SIZE);
    if (doCRC && crc(payload) !== h.crc) throw fail(`corrupted data, expected crc to be 0x${hex(h.crc)}, got 0x${hex(crc(payload))}`);
    try {
      return spb.ServerInfo.decode(payload);
    } catch (err) {
      throw fail(`cannot decode server info: ${(err as Error).message}`);
    }
  } finally {
    await fh.close();
  }
}

/** Replaces server.dat through a temporary file, so that a crash leaves either the old or the new content. */
export async function writeServerInfo(dir: string, info: ServerInfo, crc: Crc32): Promise<void> {
  const content = Buffer.concat([versionHeader(), encodeRecord(REC_NO_TYPE, spb.ServerInfo.encode(info), crc)]);
  const path = join(dir, SERVER_FILE);
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}
