import type { Logger } from '../log.js';
import type { Store } from '../stores/store.js';
import { ChannelState } from './channel.js';
import { ProtocolError, RequestError, caseConflict } from './errors.js';

/** The server's channels, created on first use; names are unique regardless of case, as in the Go server. */
export class ChannelManager {
  private readonly byName = new Map<string, ChannelState>();
  private readonly byLowerName = new Map<string, string>();
  private readonly creating = new Map<string, Promise<ChannelState>>();
  /** Called when a channel is created, e.g. to start its inactivity timer. */
  onCreated: (channel: ChannelState) => void = () => {};

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.byName.size;
  }

  get(name: string): ChannelState | undefined {
    return this.byName.get(name);
  }

  all(): IterableIterator<ChannelState> {
    return this.byName.values();
  }

  /** Registers a channel rebuilt from the store at recovery. */
  adopt(channel: ChannelState): void {
    this.byName.set(channel.name, channel);
    this.byLowerName.set(channel.name.toLowerCase(), channel.name);
  }

  /** The channel, creating it in the store first if needed; concurrent callers share one creation. */
  getOrCreate(name: string): ChannelState | Promise<ChannelState> {
    const existing = this.byName.get(name);
    if (existing) return existing.deleting ? Promise.reject(new RequestError(ProtocolError.channelBeingDeleted)) : existing;
    const pending = this.creating.get(name);
    if (pending) return pending;
    const other = this.byLowerName.get(name.toLowerCase());
    if (other !== undefined) return Promise.reject(caseConflict(name, other));
    const creation = this.create(name).finally(() => this.creating.delete(name));
    this.creating.set(name, creation);
    return creation;
  }

  async delete(channel: ChannelState): Promise<void> {
    this.byName.delete(channel.name);
    this.byLowerName.delete(channel.name.toLowerCase());
    await this.store.deleteChannel(channel.name);
  }

  private async create(name: string): Promise<ChannelState> {
    const stored = await this.store.createChannel(name);
    const channel = new ChannelState(stored, this.store.getChannelLimits(name));
    this.adopt(channel);
    this.log.debug({ channel: name }, 'channel created');
    this.onCreated(channel);
    return channel;
  }
}
