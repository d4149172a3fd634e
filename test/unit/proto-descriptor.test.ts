import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import protobuf from 'protobufjs';
import { DESCRIPTOR } from '../../src/proto/descriptor.js';

describe('protobuf descriptor', () => {
  it('matches proto/*.proto (run scripts/proto-descriptor.mjs after changing them)', () => {
    const parsed = protobuf.loadSync([join(process.cwd(), 'proto', 'protocol.proto'), join(process.cwd(), 'proto', 'spb.proto')]);
    assert.deepEqual(JSON.parse(JSON.stringify(DESCRIPTOR)), JSON.parse(JSON.stringify(parsed.toJSON())));
  });
});
