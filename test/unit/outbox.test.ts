import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MaxPayloadExceeded, Outbox } from '../../src/server/outbox.js';
import { natsPairForSuite } from '../helpers/nats-server.js';

describe('outbox (publishes batched per event-loop turn through a real nats-server)', () => {
  const conns = natsPairForSuite();

  it('delivers every frame in order with its exact payload, across sizes and slab boundaries', { timeout: 10_000 }, async () => {
    const { pub: pubConn, sub: subConn } = conns;
    const sizes = [0, 1, 9, 10, 99, 100, 1000, 9999, 10_000, 300_000, 700_000, 900_000, 5, 3];
    const got: { subject: string; data: Uint8Array }[] = [];
    const done = new Promise<void>((resolve) => {
      subConn.subscribe('outbox.>', {
        callback: (_err, msg) => {
          got.push({ subject: msg.subject, data: msg.data });
          if (got.length === sizes.length) resolve();
        },
      });
    });
    await subConn.flush();
    const out = new Outbox(pubConn);
    const payloads = sizes.map((n, i) => Buffer.alloc(n, i + 1));
    payloads.forEach((p, i) => {
      // Half the frames are written in place, as the PubAck encoder does; both ways must interleave in order.
      if (i % 2 === 0) out.publish(`outbox.${i % 3}.é`, p);
      else {
        const at = out.reserve(`outbox.${i % 3}.é`, p.length);
        p.copy(out.buffer, at);
      }
    });
    await done;
    assert.deepEqual(
      got.map((g) => g.subject),
      sizes.map((_, i) => `outbox.${i % 3}.é`),
    );
    got.forEach((g, i) => assert.ok(Buffer.from(g.data).equals(payloads[i]!), `payload ${i} of ${sizes[i]} bytes`));
  });

  it('refuses a payload over the server max_payload and a subject the protocol cannot carry', () => {
    const out = new Outbox(conns.pub);
    assert.throws(() => out.publish('too.big', Buffer.alloc(2 * 1024 * 1024)), MaxPayloadExceeded);
    assert.throws(() => out.publish('has space', Buffer.alloc(1)), /invalid subject/);
    assert.throws(() => out.publish('', Buffer.alloc(1)), /invalid subject/);
  });
});
