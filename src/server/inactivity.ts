import type { ChannelState } from './channel.js';
import type { ServerContext } from './context.js';
import { timerDelay } from '../timers.js';

/**
 * Deletes channels that had no new message and no online subscription for their max_inactivity. Offline durables do
 * not keep a channel alive, as in the Go server; deleting a channel drops its messages and subscriptions.
 */
export class InactivityReaper {
  private readonly timers = new Map<ChannelState, NodeJS.Timeout>();

  constructor(
    private readonly ctx: ServerContext,
    /** Runs the deletion in order with other control work, after the publishes received so far. */
    private readonly serialize: (work: () => Promise<void>) => Promise<void>,
  ) {}

  /** Starts (or restarts) the countdown of a channel that has no online subscription. */
  watch(channel: ChannelState): void {
    const limit = channel.limits.maxInactivity;
    if (limit <= 0 || channel.hasActiveSubs()) return;
    this.arm(channel, limit);
  }

  /** A subscription arrived: the channel is in use. */
  cancel(channel: ChannelState): void {
    clearTimeout(this.timers.get(channel));
    this.timers.delete(channel);
  }

  stop(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private arm(channel: ChannelState, delay: number): void {
    clearTimeout(this.timers.get(channel));
    const timer = setTimeout(() => {
      this.timers.delete(channel);
      void this.serialize(() => this.check(channel));
    }, timerDelay(delay));
    timer.unref();
    this.timers.set(channel, timer);
  }

  private async check(channel: ChannelState): Promise<void> {
    if (this.ctx.channels.get(channel.name) !== channel || channel.hasActiveSubs()) return;
    const idle = Date.now() - channel.lastActivity;
    const limit = channel.limits.maxInactivity;
    if (idle < limit) {
      this.arm(channel, limit - idle);
      return;
    }
    channel.deleting = true;
    for (const sub of channel.subs) {
      sub.ackSub?.unsubscribe();
      clearTimeout(sub.redeliveryTimer);
    }
    await this.ctx.channels.delete(channel);
    this.ctx.log.info({ channel: channel.name }, 'channel deleted after max inactivity');
  }
}
