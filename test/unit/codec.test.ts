import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { msgProtoSize, pb, spb } from '../../src/proto/codec.js';

describe('protobuf codec', () => {
  it('round-trips a MsgProto with a 64-bit nanosecond timestamp exactly', () => {
    const m = { sequence: 123456789, subject: 'orders', reply: 'r', data: Buffer.from('hello'), timestamp: 1795318658241516400n };
    const back = pb.MsgProto.decode(pb.MsgProto.encode(m));
    assert.equal(back.sequence, 123456789);
    assert.equal(back.timestamp, 1795318658241516400n);
    assert.equal(Buffer.from(back.data).toString(), 'hello');
    assert.equal(back.redelivered, false);
  });
  it('computes the encoded size of a MsgProto without encoding it', () => {
    for (const m of [
      { sequence: 1, subject: 'a', reply: '', data: Buffer.alloc(0), timestamp: 1n },
      { sequence: 300, subject: 'orders.eu', reply: 'x.y', data: Buffer.alloc(4096), timestamp: 1795318658241516400n },
      { sequence: 2 ** 40, subject: 'é', reply: '', data: Buffer.alloc(128), timestamp: 5n, redelivered: true, redeliveryCount: 3 },
    ]) {
      assert.equal(msgProtoSize(m), pb.MsgProto.encode(m).length);
    }
  });
  it('encodes the field numbers the Go server uses', () => {
    // SubState field 9 (lastSent) = 500: tag 0x48, varint 0xf4 0x03
    const bytes = spb.SubState.encode({ ID: 0, clientID: '', qGroup: '', inbox: '', ackInbox: '', maxInFlight: 0, ackWaitInSecs: 0, durableName: '', lastSent: 500, isDurable: false, isClosed: false });
    assert.deepEqual([...bytes], [0x48, 0xf4, 0x03]);
    // PubAck guid (1) and error (2)
    assert.deepEqual([...pb.PubAck.encode({ guid: 'g', error: 'e' })], [0x0a, 1, 0x67, 0x12, 1, 0x65]);
  });
  it('rejects garbage with an exception rather than returning junk silently', () => {
    assert.throws(() => pb.PubMsg.decode(Buffer.from([0x0a, 0xff, 0xff, 0xff])));
  });
});
