import { type NatsConnection, connect, createInbox, nuid } from 'nats';
import { StartPosition, pb } from '../../src/proto/codec.js';

const GUID_LEN = 22;

/**
 * A minimal STAN client on the `nats` v2 client, speaking the wire protocol directly, so that the load generator is
 * cheap enough not to be the bottleneck. Benchmarks only; tests use node-nats-streaming.
 */
export class LiteStan {
  private constructor(
    readonly nc: NatsConnection,
    readonly clientId: string,
    readonly pubPrefix: string,
    readonly subRequests: string,
    readonly closeRequests: string,
  ) {}

  static async connect(url: string, clusterId: string, clientId: string): Promise<LiteStan> {
    const nc = await connect({ servers: url, name: clientId });
    const hbInbox = createInbox();
    nc.subscribe(hbInbox, { callback: (_e, m) => m.respond(new Uint8Array(0)) });
    const res = await nc.request(
      `_STAN.discover.${clusterId}`,
      pb.ConnectRequest.encode({ clientID: clientId, heartbeatInbox: hbInbox, protocol: 1, connID: Buffer.from(nuid.next()), pingInterval: 5, pingMaxOut: 88 }),
      { timeout: 5000 },
    );
    const cr = pb.ConnectResponse.decode(res.data);
    if (cr.error) throw new Error(cr.error);
    return new LiteStan(nc, clientId, cr.pubPrefix!, cr.subRequests!, cr.closeRequests!);
  }

  /** Publishes `count` messages keeping at most `maxInflight` unacked; reports each ack's latency in ms. */
  publishAsync(subject: string, count: number, payload: Uint8Array, maxInflight: number, onAck: (latencyMs: number) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const ackInbox = createInbox();
      const sentAt = new Map<string, number>();
      let sent = 0;
      let acked = 0;
      const prefix = `${this.pubPrefix}.${subject}`;
      // Every PubMsg is the same but for its guid (a 22-character NUID): encode once, patch the guid bytes.
      const placeholder = 'G'.repeat(GUID_LEN);
      const template = pb.PubMsg.encode({ clientID: this.clientId, guid: placeholder, subject, reply: '', data: payload, connID: new Uint8Array(0) });
      const guidAt = Buffer.from(template).indexOf(placeholder);
      const pump = () => {
        while (sent < count && sentAt.size < maxInflight) {
          const guid = nuid.next();
          const msg = Buffer.from(template);
          msg.write(guid, guidAt, 'latin1');
          sentAt.set(guid, performance.now());
          this.nc.publish(prefix, msg, { reply: ackInbox });
          sent++;
        }
      };
      this.nc.subscribe(ackInbox, {
        callback: (_e, m) => {
          const data = m.data;
          // A successful PubAck is just the guid field; anything longer carries an error.
          const ack =
            data.length === GUID_LEN + 2 ? { guid: Buffer.from(data.buffer, data.byteOffset + 2, GUID_LEN).toString('latin1'), error: '' } : pb.PubAck.decode(data);
          if (ack.error) return reject(new Error(ack.error));
          const t = sentAt.get(ack.guid);
          if (t === undefined) return;
          sentAt.delete(ack.guid);
          onAck(performance.now() - t);
          if (++acked === count) resolve();
          else pump();
        },
      });
      pump();
    });
  }

  /** Publishes one message and waits for its PubAck; rejects on timeout or an error PubAck. */
  async publishSync(subject: string, payload: Uint8Array, timeoutMs: number): Promise<void> {
    const res = await this.nc.request(
      `${this.pubPrefix}.${subject}`,
      pb.PubMsg.encode({ clientID: this.clientId, guid: nuid.next(), subject, reply: '', data: payload, connID: new Uint8Array(0) }),
      { timeout: timeoutMs },
    );
    const ack = pb.PubAck.decode(res.data);
    if (ack.error) throw new Error(ack.error);
  }

  /** Subscribes (new messages only, or a durable) with auto-ack; calls onMsg for each message. */
  async subscribe(subject: string, maxInFlight: number, onMsg: (seq: number, timestampNs: bigint, data: Uint8Array) => void, durableName = ''): Promise<void> {
    const inbox = createInbox();
    let ackInbox = '';
    this.nc.subscribe(inbox, {
      callback: (_e, m) => {
        const msg = pb.MsgProto.decode(m.data);
        this.nc.publish(ackInbox, pb.Ack.encode({ subject, sequence: msg.sequence }));
        onMsg(msg.sequence, msg.timestamp, msg.data);
      },
    });
    const res = await this.nc.request(
      this.subRequests,
      pb.SubscriptionRequest.encode({
        clientID: this.clientId,
        subject,
        qGroup: '',
        inbox,
        maxInFlight,
        ackWaitInSecs: 30,
        durableName,
        startPosition: StartPosition.NewOnly,
        startSequence: 0,
        startTimeDelta: 0n,
      }),
      { timeout: 5000 },
    );
    const sr = pb.SubscriptionResponse.decode(res.data);
    if (sr.error) throw new Error(sr.error);
    ackInbox = sr.ackInbox!;
  }

  async close(): Promise<void> {
    await this.nc.request(this.closeRequests, pb.CloseRequest.encode({ clientID: this.clientId }), { timeout: 5000 }).catch(() => undefined);
    await this.nc.drain();
  }
}
