const NO_BUFFER = Buffer.alloc(0);

/**
 * Bytes queued to be written, in one buffer: buf[start, end) is queued and new bytes go at `end`. When the buffer is
 * full a new one is started with only the queued bytes copied to its front. Bytes already in a buffer are never
 * written over there, because a write under way (or a view kept elsewhere) may still read them; `rewindIfEmpty` is for
 * queues whose bytes nobody keeps a view of. The first buffer is allocated on first use.
 */
export class ByteQueue {
  buf = NO_BUFFER;
  start = 0;
  end = 0;

  constructor(private readonly minSize: number) {}

  get length(): number {
    return this.end - this.start;
  }

  /** Makes room for `extra` more bytes at `end`; `buf` may be a new buffer afterwards. */
  ensure(extra: number): void {
    if (this.end + extra <= this.buf.length) return;
    const queued = this.end - this.start;
    const next = Buffer.allocUnsafe(Math.max(this.minSize, 2 * (queued + extra)));
    this.buf.copy(next, 0, this.start, this.end);
    this.buf = next;
    this.start = 0;
    this.end = queued;
  }

  /** The queued bytes, as a view that stays valid whatever is queued or consumed afterwards. */
  queued(): Buffer {
    return this.buf.subarray(this.start, this.end);
  }

  /** The first `n` queued bytes are written: they leave the queue. */
  consume(n: number): void {
    this.start += n;
  }

  /** Starts again at the front of the buffer when nothing is queued and nothing still reads it. */
  rewindIfEmpty(): void {
    if (this.start === this.end) this.start = this.end = 0;
  }

  /** Forgets what is queued and lets the buffer go. */
  release(): void {
    this.buf = NO_BUFFER;
    this.start = this.end = 0;
  }
}
