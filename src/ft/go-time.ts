/**
 * Go's time.Time binary form (MarshalBinary, version 1), which FT heartbeats carry as the active server's activation
 * time so that Go and our servers can tell which of two actives came first: a version byte, seconds since year 1 and
 * nanoseconds (big-endian), and the zone offset in minutes (-1 for UTC).
 */
const SECONDS_FROM_YEAR_1_TO_UNIX = 62_135_596_800n;

export function encodeGoTime(unixNs: bigint): Uint8Array {
  const buf = Buffer.alloc(15);
  buf[0] = 1;
  buf.writeBigInt64BE(unixNs / 1_000_000_000n + SECONDS_FROM_YEAR_1_TO_UNIX, 1);
  buf.writeInt32BE(Number(unixNs % 1_000_000_000n), 9);
  buf.writeInt16BE(-1, 13);
  return buf;
}

/** Unix nanoseconds from a Go time.Time binary (versions 1 and 2); undefined when it is not one. */
export function decodeGoTime(data: Uint8Array): bigint | undefined {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < 15 || (buf[0] !== 1 && buf[0] !== 2)) return undefined;
  if ((buf[0] === 1 && buf.length !== 15) || (buf[0] === 2 && buf.length !== 16)) return undefined;
  const seconds = buf.readBigInt64BE(1) - SECONDS_FROM_YEAR_1_TO_UNIX;
  return seconds * 1_000_000_000n + BigInt(buf.readInt32BE(9));
}
