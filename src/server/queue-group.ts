import type { Subscription } from './subscription.js';

/**
 * Members share the group's last sent sequence and redelivery counts. A durable group whose members have all left
 * keeps its last member as a `shadow` (with what it had pending) so that the next member to join resumes from there.
 */
export class QueueGroup {
  members: Subscription[] = [];
  lastSent = 0;
  shadow: Subscription | undefined;
  readonly redeliveries = new Map<number, number>();
  pumping = false;

  constructor(
    readonly name: string,
    readonly isDurable: boolean,
  ) {}

  /**
   * The member that should take the next message: the one with the fewest pending among those with room and a
   * healthy client; the first member when none has room. Choosing the first member rotates it to the end, so that
   * members with equal load take turns.
   */
  bestMember(): Subscription | undefined {
    let best: Subscription | undefined;
    for (const sub of this.members) {
      if (!sub.hasRoom() || sub.clientUnhealthy) continue;
      if (!best || sub.pending.size < best.pending.size) best = sub;
    }
    best ??= this.members[0];
    if (best && best === this.members[0] && this.members.length > 1) this.members.push(this.members.shift()!);
    return best;
  }

  hasRoom(): boolean {
    return this.members.some((m) => m.hasRoom());
  }

  remove(sub: Subscription): void {
    const i = this.members.indexOf(sub);
    if (i >= 0) this.members.splice(i, 1);
  }
}
