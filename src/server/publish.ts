import type { MsgProto, PubMsg } from '../proto/codec.js';
import { pb, simplePubAckSize, spb, writeSimplePubAck } from '../proto/codec.js';
import type { ChannelState } from './channel.js';
import { nowNs } from './clock.js';
import type { ServerContext } from './context.js';
import type { Delivery } from './delivery.js';
import { ProtocolError } from './errors.js';
import { isValidChannelName } from './subjects.js';

interface Incoming {
  data: Uint8Array;
  reply: string;
}

interface Stored {
  reply: string;
  guid: string;
  channel: ChannelState;
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
  private incoming: Incoming[] = [];
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
    this.incoming.push({ data, reply });
    this.schedule();
  }

  /**
   * Takes what has arrived as a batch at the end of this event-loop turn, unless a batch is under way: then its end
   * schedules the next one. Waiting for setImmediate lets the poll phase read what the sockets already hold.
   */
  private schedule(): void {
    if (this.scheduled || this.busy) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const batch = this.incoming;
      this.incoming = [];
      if (batch.length === 0 || this.abandoned) return;
      this.busy = true;
      this.running = this.process(batch)
        .catch((err: unknown) => this.ctx.log.error({ err }, 'cannot process a batch of publishes'))
        .finally(() => {
          this.busy = false;
          if (this.incoming.length > 0) this.schedule();
        });
    });
  }

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
    this.incoming = [];
  }

  private async process(batch: Incoming[]): Promise<void> {
    if (this.abandoned) return;
    const stored: Stored[] = [];
    const touched = new Set<ChannelState>();
    for (const item of batch) {
      let pm: PubMsg;
      try {
        pm = pb.PubMsg.decode(item.data);
        if (this.ctx.opts.streamingTrace) this.ctx.log.trace({ clientId: pm.clientID, channel: pm.subject, guid: pm.guid, bytes: pm.data.length }, 'publish');
      } catch {
        // Internal control messages may reach the publish subject; the Go server ignores them silently.
        if (!isCtrlMsg(item.data)) this.sendAck(item.reply, '', ProtocolError.invalidPubReq);
        continue;
      }
      this.ctx.counters.inMsgs++;
      this.ctx.counters.inBytes += item.data.length;
      if (pm.guid === '' || !isValidChannelName(pm.subject) || !this.isKnownPublisher(pm)) {
        this.ctx.log.debug({ clientId: pm.clientID, channel: pm.subject }, 'invalid publish request');
        this.sendAck(item.reply, pm.guid, ProtocolError.invalidPubReq);
        continue;
      }
      let channel: ChannelState;
      try {
        const found = this.ctx.channels.getOrCreate(pm.subject);
        channel = found instanceof Promise ? await found : found;
      } catch (err) {
        this.sendAck(item.reply, pm.guid, (err as Error).message);
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
        this.sendAck(item.reply, pm.guid, (err as Error).message);
        continue;
      }
      this.ctx.counters.publishes++;
      touched.add(channel);
      stored.push({ reply: item.reply, guid: pm.guid, channel });
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
    for (const s of stored) this.sendAck(s.reply, s.guid, failed.get(s.channel));
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
