import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeGoTime, encodeGoTime } from '../../src/ft/go-time.js';

describe("Go's time.Time binary form", () => {
  it('encodes as version 1, seconds since year 1, nanoseconds, UTC offset -1', () => {
    const bytes = encodeGoTime(1_700_000_000_123_456_789n);
    assert.equal(bytes.length, 15);
    assert.equal(bytes[0], 1);
    assert.equal(Buffer.from(bytes).readBigInt64BE(1), 1_700_000_000n + 62_135_596_800n);
    assert.equal(Buffer.from(bytes).readInt32BE(9), 123_456_789);
    assert.equal(Buffer.from(bytes).readInt16BE(13), -1);
  });
  it('decodes what it encodes and refuses other bytes', () => {
    assert.equal(decodeGoTime(encodeGoTime(1_795_318_658_241_516_400n)), 1_795_318_658_241_516_400n);
    assert.equal(decodeGoTime(Buffer.from([9, 1, 2])), undefined);
  });
});
