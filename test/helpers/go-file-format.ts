/**
 * A deliberately separate reader of the Go file store format, written from the format description only (little-endian
 * uint32 version, then [uint32 size|type<<24][uint32 crc32-IEEE][payload] records; 32-byte index entries), so that
 * tests do not check the store with its own decoder.
 */
import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';

export interface RawRecord {
  offset: number;
  type: number;
  payload: Buffer;
}

export interface RawIndexEntry {
  seq: number;
  offset: number;
  timestamp: bigint;
  size: number;
}

function version(b: Buffer, path: string): void {
  if (b.length < 4 || b.readUInt32LE(0) !== 1) throw new Error(`${path}: bad version header`);
}

export function rawRecords(path: string, typed: boolean): RawRecord[] {
  const b = readFileSync(path);
  version(b, path);
  const out: RawRecord[] = [];
  let off = 4;
  while (off < b.length) {
    if (off + 8 > b.length) throw new Error(`${path}: partial header at ${off}`);
    const word = b.readUInt32LE(off);
    const type = typed ? word >>> 24 : 0;
    const size = typed ? word & 0xffffff : word;
    const payload = b.subarray(off + 8, off + 8 + size);
    if (payload.length !== size) throw new Error(`${path}: partial payload at ${off}`);
    if ((crc32(payload) >>> 0) !== b.readUInt32LE(off + 4)) throw new Error(`${path}: crc mismatch at ${off}`);
    out.push({ offset: off, type, payload: Buffer.from(payload) });
    off += 8 + size;
  }
  return out;
}

export function rawIndex(path: string): RawIndexEntry[] {
  const b = readFileSync(path);
  version(b, path);
  if ((b.length - 4) % 32 !== 0) throw new Error(`${path}: size ${b.length} is not 4 + 32n`);
  const out: RawIndexEntry[] = [];
  for (let off = 4; off < b.length; off += 32) {
    if ((crc32(b.subarray(off, off + 28)) >>> 0) !== b.readUInt32LE(off + 28)) throw new Error(`${path}: index crc mismatch at ${off}`);
    out.push({ seq: Number(b.readBigUInt64LE(off)), offset: Number(b.readBigUInt64LE(off + 8)), timestamp: b.readBigInt64LE(off + 16), size: b.readUInt32LE(off + 24) });
  }
  return out;
}

/** Minimal protobuf field reader: field number -> list of raw values (varints as bigint, length-delimited as Buffer). */
export function protoFields(b: Buffer): Map<number, (bigint | Buffer)[]> {
  const fields = new Map<number, (bigint | Buffer)[]>();
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const byte = b[i++]!;
      v |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return v;
      shift += 7n;
    }
  };
  while (i < b.length) {
    const key = Number(varint());
    const field = key >>> 3;
    const wire = key & 7;
    let value: bigint | Buffer;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const len = Number(varint());
      value = b.subarray(i, i + len);
      i += len;
    } else throw new Error(`unexpected wire type ${wire}`);
    const list = fields.get(field) ?? [];
    list.push(value);
    fields.set(field, list);
  }
  return fields;
}
