import type { MsgProto } from '../../proto/codec.js';
import { IdleTrigger } from '../../timers.js';

/** How long cached messages survive without being read; the Go store's cache keeps them for one second too. */
const IDLE_CLEAR_MS = 1000;

/**
 * Messages read from disk (by read-ahead mostly), bounded in bytes and dropped oldest first, and emptied once unused
 * for a second, so that an idle channel holds no message in memory.
 */
export class MsgCache {
  private readonly msgs = new Map<number, { msg: MsgProto; size: number }>();
  private bytes = 0;
  private readonly idle = new IdleTrigger(IDLE_CLEAR_MS, () => this.clear());

  constructor(private readonly maxBytes: number) {}

  get(seq: number): MsgProto | undefined {
    const hit = this.msgs.get(seq);
    if (hit) this.idle.touch();
    return hit?.msg;
  }

  add(msg: MsgProto, size: number): void {
    if (this.maxBytes <= 0 || this.msgs.has(msg.sequence)) return;
    this.msgs.set(msg.sequence, { msg, size });
    this.bytes += size;
    this.idle.touch();
    for (const [seq, old] of this.msgs) {
      if (this.bytes <= this.maxBytes || this.msgs.size <= 1) break;
      this.msgs.delete(seq);
      this.bytes -= old.size;
    }
  }

  clear(): void {
    this.msgs.clear();
    this.bytes = 0;
    this.idle.cancel();
  }
}
