import { type ClientInfo, sameBytes } from '../proto/codec.js';
import type { Subscription } from './subscription.js';

/** A connected (or recovered) client and the subscriptions it owns. */
export class ClientState {
  readonly subs = new Set<Subscription>();
  hbTimer: NodeJS.Timeout | undefined;
  failedHeartbeats = 0;
  /** Set when a client is being closed, so that nothing new is attached to it meanwhile. */
  closing = false;

  constructor(public info: ClientInfo) {}

  get id(): string {
    return this.info.ID;
  }

  get connIdKey(): string {
    return connIdKey(this.info.ConnID);
  }
}

export function connIdKey(connId: Uint8Array): string {
  return Buffer.from(connId.buffer, connId.byteOffset, connId.byteLength).toString('latin1');
}

export class ClientRegistry {
  private readonly byId = new Map<string, ClientState>();
  private readonly byConnId = new Map<string, ClientState>();
  private lastByConnection: ClientState | undefined;

  get size(): number {
    return this.byId.size;
  }

  get(id: string): ClientState | undefined {
    return this.byId.get(id);
  }

  byConnection(connId: Uint8Array): ClientState | undefined {
    // Publishes come in runs from one connection: compare with the last one found before making a key to look up.
    const last = this.lastByConnection;
    if (last !== undefined && sameBytes(connId, 0, connId.length, last.info.ConnID)) return last;
    const found = this.byConnId.get(connIdKey(connId));
    this.lastByConnection = found;
    return found;
  }

  add(client: ClientState): void {
    this.byId.set(client.id, client);
    if (client.info.ConnID.length > 0) this.byConnId.set(client.connIdKey, client);
  }

  remove(client: ClientState): void {
    if (this.byId.get(client.id) === client) this.byId.delete(client.id);
    if (this.byConnId.get(client.connIdKey) === client) this.byConnId.delete(client.connIdKey);
    if (this.lastByConnection === client) this.lastByConnection = undefined;
  }

  all(): IterableIterator<ClientState> {
    return this.byId.values();
  }
}
