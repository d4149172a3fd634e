/** The first slab of a channel is small, so that thousands of quiet channels cost little; later ones double. */
const FIRST_SLAB_BYTES = 1024;
const MAX_SLAB_BYTES = 64 * 1024;

/**
 * Copies of a channel's payloads, packed into buffers of the channel's own. A payload as received is a view of the
 * socket read it arrived in, which carries every channel's publishes: kept as is, each stored message would keep its
 * whole read alive, and a channel that gets few messages among a busy one's would hold one read per message. (The
 * file and SQL stores encode each message when storing it, and point its data at that encoding instead.)
 */
export class PayloadSlab {
  private slab = Buffer.alloc(0);
  private used = 0;
  private nextSize = FIRST_SLAB_BYTES;

  keep(data: Uint8Array): Uint8Array {
    const n = data.length;
    if (n === 0) return data;
    if (n > MAX_SLAB_BYTES / 4) return Uint8Array.prototype.slice.call(data);
    if (this.used + n > this.slab.length) {
      this.slab = Buffer.allocUnsafeSlow(Math.max(this.nextSize, n));
      this.nextSize = Math.min(this.nextSize * 2, MAX_SLAB_BYTES);
      this.used = 0;
    }
    const at = this.used;
    this.slab.set(data, at);
    this.used = at + n;
    return this.slab.subarray(at, at + n);
  }
}
