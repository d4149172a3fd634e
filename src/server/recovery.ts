import type { RecoveredState } from '../stores/store.js';
import { ChannelState } from './channel.js';
import { ClientState } from './client.js';
import type { ServerContext } from './context.js';
import { Subscription } from './subscription.js';

/**
 * Rebuilds clients, channels and subscriptions from what the store recovered. Subscriptions of clients that are gone
 * are dropped, except durables, which stay offline; a durable queue group with no member left keeps its shadow.
 * Returns the subscriptions that are online again, whose ack inboxes must be listened on.
 */
export async function rebuildFromStore(ctx: ServerContext, state: RecoveredState): Promise<Subscription[]> {
  for (const info of state.clients) ctx.clients.add(new ClientState(info));
  const online: Subscription[] = [];
  for (const [name, recovered] of state.channels) {
    const channel = new ChannelState(recovered.channel, ctx.store.getChannelLimits(name));
    ctx.channels.adopt(channel);
    for (const { sub: subState, pending } of recovered.subscriptions) {
      const client = subState.clientID ? ctx.clients.get(subState.clientID) : undefined;
      const group = subState.qGroup ? channel.queueGroup(subState.qGroup, subState.isDurable) : undefined;
      const sub = new Subscription(subState, channel, group);
      for (const seq of pending) sub.pending.set(seq, 0);
      if (group) {
        if (subState.lastSent > group.lastSent) group.lastSent = subState.lastSent;
        if (!client && !(subState.isDurable && subState.clientID === '')) {
          await channel.store.subs.deleteSub(subState.ID);
          continue;
        }
        if (!client) {
          sub.offline = true;
          group.shadow = sub;
        } else group.members.push(sub);
      } else if (!client || subState.isClosed) {
        if (!subState.isDurable) {
          await channel.store.subs.deleteSub(subState.ID);
          continue;
        }
        sub.offline = true;
      }
      if (subState.isDurable && !group) channel.durables.set(Subscription.durableKey(subState.clientID, subState.durableName), sub);
      channel.subs.add(sub);
      if (client && !sub.offline) {
        client.subs.add(sub);
        online.push(sub);
      }
    }
    for (const [groupName, group] of channel.queues) {
      if (group.members.length === 0 && !group.shadow) channel.queues.delete(groupName);
    }
  }
  return online;
}
