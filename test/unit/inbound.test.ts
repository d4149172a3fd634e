import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { InboundParser } from '../../src/server/inbound.js';
import { natsPairForSuite } from '../helpers/nats-server.js';
import { prng } from '../helpers/raw.js';

// The reference is the nats client's own parser, the one InboundParser wraps in the server.
const { Parser } = createRequire(import.meta.url)('nats/lib/nats-base-client/parser.js') as {
  Parser: new (dispatcher: { push(e: unknown): void }) => { state: number; dispatcher: { push(e: unknown): void }; parse(b: Uint8Array): void };
};

interface Event {
  kind: number;
  msg?: { subject: Uint8Array; reply?: Uint8Array; sid: number; size: number; hdr: number };
  data?: Uint8Array;
}

/** What an event says, in a form deepEqual compares by content (the two parsers slice different buffers). */
function describeEvent(e: Event): unknown {
  const text = (b?: Uint8Array) => (b === undefined ? undefined : Buffer.from(b).toString('latin1'));
  if (!e.msg) return { kind: e.kind, data: text(e.data) };
  return { kind: e.kind, subject: text(e.msg.subject), reply: text(e.msg.reply) || undefined, sid: e.msg.sid, size: e.msg.size, hdr: e.msg.hdr, data: text(e.data) };
}

/** A stream of the operations a nats-server sends: messages with and without reply, with headers, pings, info, errors. */
function serverStream(r: () => number, frames: number): Buffer {
  const parts: Buffer[] = [];
  for (let f = 0; f < frames; f++) {
    const pick = r();
    const size = Math.floor(r() * (r() < 0.05 ? 200_000 : 300));
    const payload = Buffer.alloc(size, 97 + (f % 26));
    if (size > 2) payload.write('\r\nMSG x 1 0\r\n', 0, 'latin1'); // payload bytes that look like protocol
    const sid = 1 + Math.floor(r() * 5000);
    if (pick < 0.45) parts.push(Buffer.from(`MSG _STAN.pub.abc.orders.${f % 7} ${sid} ${size}\r\n`), payload, Buffer.from('\r\n'));
    else if (pick < 0.85) parts.push(Buffer.from(`MSG _STAN.acks.x ${sid} _INBOX.reply.${f}\t${size}\r\n`), payload, Buffer.from('\r\n'));
    else if (pick < 0.9) {
      const hdr = Buffer.from('NATS/1.0 503\r\n\r\n');
      parts.push(Buffer.from(`HMSG _INBOX.mux.${f} ${sid} ${hdr.length} ${hdr.length + size}\r\n`), hdr, payload, Buffer.from('\r\n'));
    } else if (pick < 0.93) parts.push(Buffer.from('PING\r\n'));
    else if (pick < 0.96) parts.push(Buffer.from('PONG\r\n'));
    else if (pick < 0.98) parts.push(Buffer.from('+OK\r\n'));
    else if (pick < 0.99) parts.push(Buffer.from(`INFO {"server_id":"x","max_payload":1048576,"headers":true,"n":${f}}\r\n`));
    else parts.push(Buffer.from(`-ERR 'Permissions Violation for Publish to "x.${f}"'\r\n`));
  }
  return Buffer.concat(parts);
}

function record(stream: Buffer, chunkSizes: () => number, fast: boolean): unknown[] {
  const events: unknown[] = [];
  const inner = new Parser({ push: (e) => events.push(describeEvent(e as Event)) });
  const parser = fast ? new InboundParser(inner, (err) => assert.fail(String(err))) : inner;
  for (let at = 0; at < stream.length; ) {
    const n = Math.max(1, chunkSizes());
    // Each chunk in its own buffer, as socket reads arrive.
    parser.parse(Buffer.from(stream.subarray(at, at + n)));
    at += n;
  }
  return events;
}

describe('inbound parser (MSG frames read fast, the rest by the nats client parser)', () => {
  it('produces the same events as the nats client parser for any chunking of the same stream', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const r = prng(seed);
      const stream = serverStream(r, 400);
      const reference = record(stream, () => 64 * 1024, false);
      assert.ok(reference.length >= 400);
      const chunkings: (() => number)[] = [() => 64 * 1024, () => Math.floor(r() * 50), () => Math.floor(r() * 70_000), () => stream.length];
      // Byte by byte is slow with the large messages: a few streams are enough.
      if (seed <= 2) chunkings.push(() => 1);
      for (const chunks of chunkings) assert.deepEqual(record(stream, chunks, true), reference, `seed ${seed}`);
    }
  });

  it('hands a malformed frame to the nats client parser, which reports it as a protocol error', () => {
    const inner = new Parser({ push: () => undefined });
    const parser = new InboundParser(inner, (err) => assert.fail(String(err)));
    assert.throws(() => parser.parse(Buffer.from('MSG only.subject\r\n')));
    const inner2 = new Parser({ push: () => undefined });
    assert.throws(() => new InboundParser(inner2, (err) => assert.fail(String(err))).parse(Buffer.from('XYZ\r\n')));
  });
});

describe('inbound parser routes (subscriptions whose messages skip the nats client dispatch), through a real nats-server', () => {
  const conns = natsPairForSuite();

  it('hands a routed subscription the same payloads and reply subjects the nats client gives a plain one', { timeout: 10_000 }, async () => {
    const { pub, sub } = conns;
    const errors: unknown[] = [];
    const inbound = InboundParser.install(sub, (err) => errors.push(err));
    const routed: [string, string][] = [];
    const plain: [string, string][] = [];
    const total = 300;
    const done = new Promise<void>((resolve) => {
      sub.subscribe('route.>', { callback: (_err, m) => plain.push([Buffer.from(m.data).toString('hex'), m.reply ?? '']) });
      inbound.subscribe(sub, 'route.>', (data, reply) => {
        routed.push([Buffer.from(data).toString('hex'), reply]);
        if (routed.length === 7) throw new Error('handler bug');
        if (routed.length === total) resolve();
      });
    });
    await sub.flush();
    const r = prng(21);
    for (let i = 0; i < total; i++) {
      // Runs of the same reply subject (as one publisher's ack inbox), changes, none, and non-ASCII ones.
      const reply = i % 50 < 20 ? '_STAN.acks.same' : i % 50 < 30 ? `_INBOX.${i}` : i % 50 < 35 ? `_INBOX.é${i % 2}` : undefined;
      pub.publish(`route.${i % 3}`, Buffer.alloc(Math.floor(r() * 3000), i % 256), reply === undefined ? {} : { reply });
    }
    await pub.flush();
    await done;
    await sub.flush();
    assert.deepEqual(routed, plain);
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /handler bug/);
  });

  it('stops routing to a subscription once it is unsubscribed', { timeout: 10_000 }, async () => {
    const { pub, sub } = conns;
    const inbound = InboundParser.install(sub, () => undefined);
    let routed = 0;
    const s = inbound.subscribe(sub, 'gone', () => routed++);
    await sub.flush();
    pub.publish('gone');
    await pub.flush();
    await sub.flush();
    assert.equal(routed, 1);
    s.unsubscribe();
    let others = 0;
    sub.subscribe('gone', { callback: () => others++ });
    await sub.flush();
    pub.publish('gone');
    await pub.flush();
    await sub.flush();
    assert.equal(routed, 1);
    assert.equal(others, 1);
  });
});
