import type { ClientInfo, ConnectRequest } from '../proto/codec.js';
import { pb } from '../proto/codec.js';
import { ClientState } from './client.js';
import type { ServerContext } from './context.js';
import type { Delivery } from './delivery.js';
import { ProtocolError } from './errors.js';
import { isValidClientId } from './subjects.js';
import type { SubscriptionManager } from './subscriptions.js';
import { timerDelay } from '../timers.js';

/** How long a registered client has to answer on its heartbeat inbox before a new connection may take its ID. */
const DUPLICATE_CHECK_MS = 500;
const PROTOCOL_ONE = 1;
const EMPTY = new Uint8Array(0);

/** Client connections: connect (with duplicate-ID probing), close, pings, and the server's heartbeats to clients. */
export class ConnectionManager {
  private readonly duplicateChecks = new Set<string>();

  constructor(
    private readonly ctx: ServerContext,
    private readonly subs: SubscriptionManager,
    private readonly delivery: Delivery,
    /** Runs work in order with the other control requests (subscribe, unsubscribe, close). */
    private readonly serialize: (work: () => Promise<void>) => Promise<void>,
  ) {}

  async connect(data: Uint8Array, reply: string): Promise<void> {
    let req: ConnectRequest;
    try {
      req = pb.ConnectRequest.decode(data);
      this.ctx.log.trace({ clientId: req.clientID, hbInbox: req.heartbeatInbox, protocol: req.protocol }, 'connect request');
    } catch {
      return this.respondConnect(reply, ProtocolError.invalidConnReq);
    }
    if (req.heartbeatInbox === '') return this.respondConnect(reply, ProtocolError.invalidConnReq);
    if (!isValidClientId(req.clientID)) return this.respondConnect(reply, ProtocolError.invalidClientId);
    // A connect that finds the ID taken by the time it is registered goes through the duplicate check again.
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = this.ctx.clients.get(req.clientID);
      if (existing) {
        if (this.duplicateChecks.has(req.clientID)) return this.respondConnect(reply, ProtocolError.clientAlreadyRegistered);
        this.duplicateChecks.add(req.clientID);
        try {
          if (await this.answersHeartbeat(existing)) {
            this.ctx.log.debug({ clientId: req.clientID }, 'connect refused: client ID in use by a live client');
            return this.respondConnect(reply, ProtocolError.clientAlreadyRegistered);
          }
          this.ctx.log.debug({ clientId: req.clientID }, 'replacing a client that does not answer heartbeats');
        } finally {
          this.duplicateChecks.delete(req.clientID);
        }
      }
      let registered = false;
      await this.serialize(async () => {
        registered = await this.register(req, reply, existing);
      });
      if (registered) return;
    }
    this.respondConnect(reply, ProtocolError.clientAlreadyRegistered);
  }

  /** Registers the client and answers; false (and no answer) when another connection took the ID meanwhile. */
  private async register(req: ConnectRequest, reply: string, replacing: ClientState | undefined): Promise<boolean> {
    const current = this.ctx.clients.get(req.clientID);
    if (current && current !== replacing) return false;
    if (current) await this.closeClient(current);
    const info: ClientInfo = {
      ID: req.clientID,
      HbInbox: req.heartbeatInbox,
      ConnID: req.connID,
      Protocol: req.protocol,
      PingInterval: req.pingInterval,
      PingMaxOut: req.pingMaxOut,
    };
    try {
      await this.ctx.store.addClient(info);
    } catch (err) {
      this.respondConnect(reply, (err as Error).message);
      return true;
    }
    const client = new ClientState(info);
    this.ctx.clients.add(client);
    this.startHeartbeats(client);
    this.ctx.log.debug({ clientId: info.ID, protocol: info.Protocol }, 'client connected');
    const { info: srv } = this.ctx;
    const response = {
      pubPrefix: srv.Publish,
      subRequests: srv.Subscribe,
      unsubRequests: srv.Unsubscribe,
      subCloseRequests: srv.SubClose,
      closeRequests: srv.Close,
      protocol: PROTOCOL_ONE,
      ...(req.protocol >= PROTOCOL_ONE
        ? { pingRequests: `${srv.Discovery}.pings`, pingInterval: req.pingInterval, pingMaxOut: req.pingMaxOut }
        : {}),
    };
    if (reply) this.ctx.out.publish(reply, pb.ConnectResponse.encode(response));
    return true;
  }

  private async answersHeartbeat(client: ClientState): Promise<boolean> {
    try {
      await this.ctx.nc.request(client.info.HbInbox, EMPTY, { timeout: DUPLICATE_CHECK_MS });
      return true;
    } catch {
      return false;
    }
  }

  async close(data: Uint8Array, reply: string): Promise<void> {
    let clientId: string;
    try {
      clientId = pb.CloseRequest.decode(data).clientID;
      this.ctx.log.trace({ clientId }, 'close request');
    } catch {
      return this.respondClose(reply, ProtocolError.invalidCloseReq);
    }
    const client = this.ctx.clients.get(clientId);
    if (!client) return this.respondClose(reply, ProtocolError.unknownClient);
    await this.closeClient(client);
    this.ctx.log.debug({ clientId }, 'client closed');
    this.respondClose(reply);
  }

  /** Unregisters a client: its plain subscriptions go away, its durables stay offline for it to resume. */
  async closeClient(client: ClientState): Promise<void> {
    if (client.closing) return;
    client.closing = true;
    clearTimeout(client.hbTimer);
    this.ctx.clients.remove(client);
    await this.ctx.store.deleteClient(client.id);
    for (const sub of [...client.subs]) await this.subs.remove(sub, false);
  }

  ping(data: Uint8Array, reply: string): void {
    if (data.length === 0 || !reply) return;
    let connId: Uint8Array;
    try {
      connId = pb.Ping.decode(data).connID;
    } catch {
      return;
    }
    const client = this.ctx.clients.byConnection(connId);
    if (!client) {
      this.ctx.out.publish(reply, pb.PingResponse.encode({ error: ProtocolError.clientReplaced }));
      return;
    }
    this.ctx.out.publish(reply, EMPTY);
    // A client that pings is alive: check its heartbeat again right away if it had been missing them.
    if (client.failedHeartbeats > 0) this.scheduleHeartbeat(client, 1);
  }

  startHeartbeats(client: ClientState): void {
    this.scheduleHeartbeat(client, this.ctx.opts.hbInterval);
  }

  stopHeartbeats(): void {
    for (const client of this.ctx.clients.all()) clearTimeout(client.hbTimer);
  }

  private scheduleHeartbeat(client: ClientState, delay: number): void {
    clearTimeout(client.hbTimer);
    client.hbTimer = setTimeout(() => void this.checkHeartbeat(client), timerDelay(delay));
  }

  private async checkHeartbeat(client: ClientState): Promise<void> {
    if (client.closing || this.ctx.clients.get(client.id) !== client) return;
    const { hbTimeout, hbFailCount, hbInterval } = this.ctx.opts;
    let answered = true;
    try {
      await this.ctx.nc.request(client.info.HbInbox, EMPTY, { timeout: hbTimeout });
    } catch {
      answered = false;
    }
    if (client.closing || this.ctx.clients.get(client.id) !== client) return;
    if (answered) {
      if (client.failedHeartbeats > 0) this.setUnhealthy(client, false);
      client.failedHeartbeats = 0;
    } else {
      client.failedHeartbeats++;
      if (client.failedHeartbeats === 1) this.setUnhealthy(client, true);
      if (client.failedHeartbeats > hbFailCount) {
        this.ctx.log.info({ clientId: client.id }, 'client timed out on heartbeats');
        await this.serialize(() => this.closeClient(client));
        return;
      }
    }
    this.scheduleHeartbeat(client, hbInterval);
  }

  private setUnhealthy(client: ClientState, unhealthy: boolean): void {
    for (const sub of client.subs) {
      sub.clientUnhealthy = unhealthy;
      if (!unhealthy && sub.pending.size > 0) this.delivery.armRedelivery(sub, 1);
    }
  }

  private respondConnect(reply: string, error: string): void {
    if (reply) this.ctx.out.publish(reply, pb.ConnectResponse.encode({ error }));
  }

  private respondClose(reply: string, error?: string): void {
    if (reply) this.ctx.out.publish(reply, pb.CloseResponse.encode(error ? { error } : {}));
  }
}
