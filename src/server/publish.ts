import type { MsgProto, PubMsg } from '../proto/codec.js';
import { pb, simplePubAckSize, spb, writeSimplePubAck } from '../proto/codec.js';
import type { ChannelState } from './channel.js';
import { nowNs } from './clock.js';
import type { ServerContext } from './context.js';
import type { Delivery } from './delivery.js';
import { ProtocolError } from './errors.js';
import { isValidChannelName } from './subjects.js';

const NO_DATA = Buffer.alloc(0);

/**
 * Publishes received, in parallel arrays rather than an object each (hundreds of thousands arrive every second), which
 * are kept and refilled batch after batch instead of growing anew.
 */
class Incoming {
  readonly data: Uint8Array[] = [];
  readonly replies: string[] = [];
  length = 0;

  add(data: Uint8Array, reply: string): void {
    const i = this.length++;
    this.data[i] = data;
    this.replies[i] = reply;
  }

  /** Empties the batch, letting go of the socket buffers its payloads are views of. */
  clear(): void {
    for (let i = 0; i < this.length; i++) {
      this.data[i] = NO_DATA;
      this.replies[i] = '';
    }
    this.length = 0;
  }
}

/** The PubAcks a batch owes once its channels are flushed, in parallel arrays kept from batch to batch. */
class Stored {
  readonly replies: string[] = [];
  readonly guids: string[] = [];
  readonly channels: (ChannelState | undefined)[] = [];
  length = 0;

  add(reply: string, guid: string, channel: ChannelState): void {
    const i = this.length++;
    this.replies[i] = reply;
    this.guids[i] = guid;
    this.channels[i] = channel;
  }

  clear(): void {
    for (let i = 0; i < this.length; i++) {
      this.replies[i] = '';
      this.guids[i] = '';
      this.channels[i] = undefined;
    }
    this.length = 0;
  }
}

function isCtrlMsg(data: Uint8Array): boolean {
  try {
    spb.CtrlMsg.decode(data);
    return true;
  } catch {
    return false;
  }
}

/**
 * Publishes are stored in batches: each channel touched is flushed once, the new messages are delivered, and only then
 * are the PubAcks sent, so that an ack always means "stored". A batch is everything received since the previous batch
 * was taken: publishes that arrive while a batch is being stored (typically waiting for a sync) wait and all go in the
 * next one (group commit), instead of forming one small batch per event-loop turn that each pay for a flush. Batches
 * are still processed one at a time, so a store never sees two flushes of a channel overlap.
 */
export class PublishPipeline {
  private incoming = new Incoming();
  /** The batch processed last, emptied, to take what arrives after the one being taken now. */
  private spare = new Incoming();
  /** Processing is one batch at a time, so one set of owed PubAcks serves them all. */
  private readonly stored = new Stored();
  private scheduled = false;
  /** A batch is being processed; what arrives meanwhile is taken as the next batch once it is done. */
  private busy = false;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;
  private abandoned = false;

  constructor(
    private readonly ctx: ServerContext,
    private readonly delivery: Delivery,
  ) {}

  receive(data: Uint8Array, reply: string): void {
    if (this.stopped) return;
    this.incoming.add(data, reply);
    this.schedule();
  }

  /**
   * Takes what has arrived as a batch at the end of this event-loop turn, unless a batch is under way: then its end
   * schedules the next one. Waiting for setImmediate lets the poll phase read what the sockets already hold.
   */
  private schedule(): void {
    if (this.scheduled || this.busy) return;
    this.scheduled = true;
    setImmediate(this.takeBatch);
  }

  /**
   * A property, not a closure made in schedule(): a function that makes a closure allocates its context on every call,
   * and schedule() runs for every publish.
   */
  private readonly takeBatch = (): void => {
    this.scheduled = false;
    const batch = this.incoming;
    if (batch.length === 0 || this.abandoned) return;
    this.incoming = this.spare;
    this.busy = true;
    this.running = this.process(batch)
      .catch((err: unknown) => this.ctx.log.error({ err }, 'cannot process a batch of publishes'))
      .finally(() => {
        batch.clear();
        this.stored.clear();
        this.spare = batch;
        this.busy = false;
        if (this.incoming.length > 0) this.schedule();
      });
  };

  /** Resolves once everything received so far has been stored and acked. */
  async drain(): Promise<void> {
    while (this.scheduled || this.busy || this.incoming.length > 0) {
      if (this.busy) await this.running;
      else await new Promise((r) => setImmediate(r));
      if (this.abandoned) return;
    }
  }

  async stop(): Promise<void> {
    await this.drain();
    this.stopped = true;
  }

  /** Drops everything not yet stored and acks nothing more: used when the server must stop serving at once. */
  abandon(): void {
    this.stopped = true;
    this.abandoned = true;
    this.incoming.clear();
  }

  private async process(batch: Incoming): Promise<void> {
    if (this.abandoned) return;
    const stored = this.stored;
    const touched = new Set<ChannelState>();
    // Indexed, not for-of: across the await below, an async function's array iterator allocates a result per element.
    for (let i = 0; i < batch.length; i++) {
      const data = batch.data[i]!;
      const reply = batch.replies[i]!;
      let pm: PubMsg;
      try {
        pm = pb.PubMsg.decode(data);
        if (this.ctx.opts.streamingTrace) this.ctx.log.trace({ clientId: pm.clientID, channel: pm.subject, guid: pm.guid, bytes: pm.data.length }, 'publish');
      } catch {
        // Internal control messages may reach the publish subject; the Go server ignores them silently.
        if (!isCtrlMsg(data)) this.sendAck(reply, '', ProtocolError.invalidPubReq);
        continue;
      }
      this.ctx.counters.inMsgs++;
      this.ctx.counters.inBytes += data.length;
      if (pm.guid === '' || !isValidChannelName(pm.subject) || !this.isKnownPublisher(pm)) {
        this.ctx.log.debug({ clientId: pm.clientID, channel: pm.subject }, 'invalid publish request');
        this.sendAck(reply, pm.guid, ProtocolError.invalidPubReq);
        continue;
      }
      let channel: ChannelState;
      try {
        const found = this.ctx.channels.getOrCreate(pm.subject);
        channel = found instanceof Promise ? await found : found;
      } catch (err) {
        this.sendAck(reply, pm.guid, (err as Error).message);
        continue;
      }
      const msg: MsgProto = {
        sequence: channel.lastSeq + 1,
        subject: pm.subject,
        reply: pm.reply,
        data: pm.data,
        timestamp: nowNs(),
        wire: undefined,
      };
      try {
        channel.append(msg);
      } catch (err) {
        this.sendAck(reply, pm.guid, (err as Error).message);
        continue;
      }
      this.ctx.counters.publishes++;
      touched.add(channel);
      stored.add(reply, pm.guid, channel);
    }
    const failed = new Map<ChannelState, string>();
    await Promise.all(
      [...touched].map(async (channel) => {
        try {
          const started = performance.now();
          await channel.store.msgs.flush();
          this.ctx.counters.onStoreFlush((performance.now() - started) / 1000);
        } catch (err) {
          this.ctx.log.error({ err, channel: channel.name }, 'cannot store messages');
          failed.set(channel, (err as Error).message);
          channel.rollBack();
          return;
        }
        channel.storedSeq = channel.lastSeq;
        this.delivery.onNewMessages(channel);
      }),
    );
    if (this.abandoned) return;
    for (let i = 0; i < stored.length; i++) this.sendAck(stored.replies[i]!, stored.guids[i]!, failed.size > 0 ? failed.get(stored.channels[i]!) : undefined);
  }

  private isKnownPublisher(pm: PubMsg): boolean {
    if (pm.connID.length > 0) return this.ctx.clients.byConnection(pm.connID) !== undefined;
    return this.ctx.clients.get(pm.clientID) !== undefined;
  }

  private sendAck(reply: string, guid: string, error?: string): void {
    if (!reply) return;
    const size = error ? -1 : simplePubAckSize(guid);
    if (size < 0) {
      this.ctx.out.publish(reply, pb.PubAck.encode(error ? { guid, error } : { guid }));
      return;
    }
    const at = this.ctx.out.reserve(reply, size);
    writeSimplePubAck(this.ctx.out.buffer, at, guid);
  }
}
