import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MsgProto } from '../../src/proto/codec.js';
import { ChannelState } from '../../src/server/channel.js';
import { MemoryStore } from '../../src/stores/memory/memstore.js';
import { until } from '../helpers/stan-client.js';

/** A channel on the memory store, whose lookups answer with a promise: a synchronous answer came from the recent ones. */
async function channelWith(count: number, size: number): Promise<ChannelState> {
  const store = new MemoryStore();
  const channel = new ChannelState(await store.createChannel('recent'), store.getChannelLimits('recent'));
  for (let seq = 1; seq <= count; seq++) {
    const msg: MsgProto = { sequence: seq, subject: 'recent', reply: '', data: Buffer.alloc(size, seq % 256), timestamp: BigInt(seq) };
    channel.append(msg);
  }
  return channel;
}

const isRecent = (channel: ChannelState, seq: number) => !(channel.message(seq) instanceof Promise);

describe('recent messages of a channel', () => {
  it('keeps the last 8192 small messages at hand', async () => {
    const channel = await channelWith(10_000, 128);
    assert.ok(isRecent(channel, 10_000));
    assert.ok(isRecent(channel, 10_000 - 8191));
    assert.ok(!isRecent(channel, 10_000 - 8192));
    assert.equal((await channel.message(1))?.sequence, 1);
  });

  it('keeps no more than 2 MB of payloads', async () => {
    const channel = await channelWith(300, 16 * 1024);
    const recent = Array.from({ length: 300 }, (_, i) => i + 1).filter((seq) => isRecent(channel, seq));
    assert.equal(recent.length, 127);
    assert.equal(recent[0], 174);
    assert.equal(recent.at(-1), 300);
    assert.equal((await channel.message(173))?.sequence, 173);
  });

  it('lets go of them a second after the last message', async () => {
    const channel = await channelWith(10, 128);
    assert.ok(isRecent(channel, 10));
    await until(() => !isRecent(channel, 10), 10_000, 'the recent messages to be let go');
    assert.equal((await channel.message(10))?.sequence, 10);
  });
});
