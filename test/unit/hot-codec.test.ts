import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import protobuf from 'protobufjs';
import { SUB_STATE_UPDATE_MAX_SIZE, decodeAck, decodePubMsg, encodeMsgProto, encodeMsgProtoInto, encodePubAck, encodeSubStateUpdate } from '../../src/proto/hot.js';
import { prng } from '../helpers/raw.js';

// The reference: protobufjs by reflection on the same .proto files, as the rest of the codec uses.
const root = protobuf.loadSync([join(process.cwd(), 'proto', 'protocol.proto')]);
const PubMsg = root.lookupType('pb.PubMsg');
const PubAck = root.lookupType('pb.PubAck');
const MsgProto = root.lookupType('pb.MsgProto');
const SubStateUpdate = protobuf.loadSync([join(process.cwd(), 'proto', 'spb.proto')]).lookupType('spb.SubStateUpdate');
const Ack = root.lookupType('pb.Ack');

const ALPHABET = ['a', 'Z', '.', '_', '9', 'é', '€', '😀', '-'];

function randomString(r: () => number, max: number): string {
  const n = Math.floor(r() * max);
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(r() * ALPHABET.length)];
  return s;
}

function randomBytes(r: () => number, max: number): Buffer {
  return Buffer.from(Array.from({ length: Math.floor(r() * max) }, () => Math.floor(r() * 256)));
}

/** What protobufjs decodes, or the fact that it refuses the bytes. */
function reference(type: protobuf.Type, bytes: Uint8Array): Record<string, unknown> | 'error' {
  try {
    return type.toObject(type.decode(bytes), { defaults: true, longs: Number, bytes: Array }) as Record<string, unknown>;
  } catch {
    return 'error';
  }
}

function attempt<T>(fn: () => T): T | 'error' {
  try {
    return fn();
  } catch {
    return 'error';
  }
}

describe('hand-written hot-path codec', () => {
  it('decodes PubMsg as protobufjs does, for random messages', () => {
    const r = prng(1);
    for (let i = 0; i < 2000; i++) {
      const fields = {
        clientID: randomString(r, 12),
        guid: randomString(r, 30),
        subject: randomString(r, 20),
        reply: randomString(r, 5),
        data: randomBytes(r, 300),
        connID: randomBytes(r, 24),
        sha256: randomBytes(r, 3),
      };
      const bytes = PubMsg.encode(fields).finish();
      const ours = decodePubMsg(bytes);
      const ref = reference(PubMsg, bytes) as Record<string, unknown>;
      assert.deepEqual(
        { ...ours, data: [...ours.data], connID: [...ours.connID] },
        { clientID: ref.clientID, guid: ref.guid, subject: ref.subject, reply: ref.reply, data: ref.data, connID: ref.connID },
      );
    }
  });

  it('gives the right client ID and channel when consecutive messages repeat or differ by one byte', () => {
    const subjects = ['orders', 'orders', 'ordert', 'orders', 'ordérs', 'ordérs', '', 'orders.eu', 'orders'];
    subjects.forEach((subject, i) => {
      const clientID = i % 2 ? 'pub-a' : 'pub-b';
      const bytes = PubMsg.encode({ clientID, guid: `g${i}`, subject }).finish();
      // A copy in a fresh buffer: a reused string must not depend on where the bytes were.
      const m = decodePubMsg(Buffer.from(bytes));
      assert.deepEqual([m.clientID, m.subject, m.guid], [clientID, subject, `g${i}`]);
    });
  });

  it('refuses the same damaged PubMsg and Ack bytes as the strict decoder', () => {
    const r = prng(2);
    const good = PubMsg.encode({ clientID: 'me', guid: 'g1', subject: 'orders', data: Buffer.from('hello') }).finish();
    const ack = Ack.encode({ subject: 'orders', sequence: 77 }).finish();
    const cases: Uint8Array[] = [
      Buffer.from([0x00, 0x01]), // field 0
      Buffer.from([0x08, 0x01]), // clientID as a varint
      Buffer.from([0x2a, 0x05, 0x01]), // data longer than the message
      Buffer.from([0x0a, 0x02, 0xff, 0xfe]), // clientID not UTF-8
      Buffer.from([0x0b]), // group start
      Buffer.from([0x98, 0x01, 0x05]), // unknown field 19 as a varint: skipped
    ];
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.from(i % 2 ? good : ack);
      const at = Math.floor(r() * b.length);
      b[at] = Math.floor(r() * 256);
      cases.push(r() < 0.3 ? b.subarray(0, Math.floor(r() * b.length)) : b);
    }
    for (const bytes of cases) {
      const ours = attempt(() => decodePubMsg(bytes));
      const ref = reference(PubMsg, bytes);
      if (ref === 'error') {
        assert.equal(ours, 'error', `PubMsg ${Buffer.from(bytes).toString('hex')}`);
      } else if (ours !== 'error') {
        assert.equal(ours.guid, ref.guid);
        assert.equal(ours.subject, ref.subject);
        assert.deepEqual([...ours.data], ref.data);
      }
      const ourAck = attempt(() => decodeAck(bytes));
      const refAck = reference(Ack, bytes);
      if (refAck === 'error') assert.equal(ourAck, 'error', `Ack ${Buffer.from(bytes).toString('hex')}`);
      else if (ourAck !== 'error') assert.equal(ourAck.sequence, refAck.sequence);
    }
  });

  it('refuses a client ID that is not UTF-8 every time, not only the first (the last one decoded is reused)', () => {
    assert.equal(decodePubMsg(Buffer.from([0x0a, 0x02, 0x61, 0x62])).clientID, 'ab');
    for (let i = 0; i < 2; i++) assert.throws(() => decodePubMsg(Buffer.from([0x0a, 0x02, 0xff, 0xfe])), `attempt ${i + 1}`);
  });

  it('refuses a known field with the wrong wire type, which protobufjs alone would skip', () => {
    // PubMsg guid (field 2) sent as a varint; Ack sequence (field 2) sent as bytes
    assert.throws(() => decodePubMsg(Buffer.from([0x10, 0x05])), /wire type/);
    assert.throws(() => decodeAck(Buffer.from([0x12, 0x01, 0x00])), /wire type/);
  });

  it('encodes MsgProto byte for byte as protobufjs does', () => {
    const r = prng(3);
    const timestamps = [0n, 1n, 127n, 128n, 1795318658241516400n, 2n ** 63n - 1n, -1n, -(2n ** 63n)];
    for (let i = 0; i < 2000; i++) {
      const m = {
        sequence: [0, 1, 127, 128, 300, 2 ** 32, 2 ** 53 - 1][i % 7]!,
        subject: randomString(r, 20),
        reply: randomString(r, 4),
        data: randomBytes(r, 300),
        timestamp: timestamps[i % timestamps.length]!,
        redelivered: r() < 0.5,
        redeliveryCount: [0, 1, 200, 2 ** 31][Math.floor(r() * 4)]!,
      };
      const u = BigInt.asUintN(64, m.timestamp);
      const long = { low: Number(u & 0xffffffffn) | 0, high: Number(u >> 32n) | 0, unsigned: false };
      const ref = MsgProto.encode({ ...m, timestamp: long }).finish();
      assert.equal(encodeMsgProto(m).toString('hex'), Buffer.from(ref).toString('hex'));
    }
  });

  it('encodes MsgProto into reserved room without touching the bytes around it', () => {
    const r = prng(5);
    const buffer = Buffer.alloc(64 * 1024, 0xee);
    let end = 0;
    const target = {
      buffer,
      reserve: (size: number) => {
        const at = end + 8;
        end = at + size;
        return at;
      },
    };
    for (let i = 0; i < 200; i++) {
      const m = { sequence: i + 1, subject: randomString(r, 20), reply: randomString(r, 4), data: randomBytes(r, 200), timestamp: BigInt(i) * 1_000_003n };
      const before = end;
      const size = encodeMsgProtoInto(m, target);
      assert.equal(end, before + 8 + size);
      assert.equal(buffer.subarray(before + 8, end).toString('hex'), encodeMsgProto(m).toString('hex'));
      assert.ok(buffer.subarray(before, before + 8).every((b) => b === 0xee), 'the 8 bytes before the room are left alone');
    }
    assert.ok(buffer.subarray(end).every((b) => b === 0xee));
  });

  it('encodes SubStateUpdate byte for byte as protobufjs does', () => {
    const r = prng(6);
    const values = [0, 1, 127, 128, 16_383, 16_384, 2 ** 31, 2 ** 32, 2 ** 53 - 1];
    const buf = Buffer.alloc(SUB_STATE_UPDATE_MAX_SIZE + 3);
    for (let i = 0; i < 2000; i++) {
      const ID = i < 81 ? values[i % 9]! : Math.floor(r() * 2 ** 40);
      const seqno = i < 81 ? values[Math.floor(i / 9)]! : Math.floor(r() * 2 ** 53);
      const at = i % 4;
      const n = encodeSubStateUpdate(buf, at, ID, seqno);
      assert.equal(buf.subarray(at, at + n).toString('hex'), Buffer.from(SubStateUpdate.encode({ ID, seqno }).finish()).toString('hex'), `${ID} ${seqno}`);
    }
  });

  it('encodes PubAck byte for byte as protobufjs does', () => {
    const r = prng(4);
    for (let i = 0; i < 1000; i++) {
      const guid = randomString(r, 40);
      const error = i % 3 === 0 ? randomString(r, 200) : undefined;
      const ref = PubAck.encode(error === undefined ? { guid } : { guid, error }).finish();
      assert.equal(encodePubAck(guid, error).toString('hex'), Buffer.from(ref).toString('hex'));
    }
  });
});
