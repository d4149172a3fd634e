import type * as Inspector from 'node:inspector';
import { createRequire } from 'node:module';
import type { Logger } from './log.js';

/** How long the server must have had no traffic before memory is given back, and how often that is checked. */
const IDLE_MS = 500;
const CHECK_MS = 250;
/** Growth of the JavaScript heap and buffers since the last collection that makes another worth its pause. */
const MIN_GROWTH_BYTES = 16 * 1024 * 1024;
/**
 * The collection is two full, blocking garbage collections: about 15 ms each for the 13 MB of live heap a FILE server
 * with one busy channel keeps, and longer for more. Above this much used heap (live objects and garbage not yet
 * collected) the pause could be too long to take unasked, and V8's own memory reducer does the work incrementally,
 * some 20 s after the traffic stopped.
 */
const MAX_USED_HEAP_BYTES = 64 * 1024 * 1024;

export interface IdleMemoryOptions {
  idleMs?: number;
  checkMs?: number;
  minGrowthBytes?: number;
  maxUsedHeapBytes?: number;
  /** Collects all available garbage; HeapProfiler.collectGarbage through an in-process inspector session by default. */
  collect?: () => Promise<void>;
}

/** Bytes the JavaScript heap and the buffers take. */
function footprint(): { used: number; total: number } {
  const m = process.memoryUsage();
  return { used: m.heapUsed, total: m.heapTotal + m.arrayBuffers };
}

/**
 * Gives memory back once traffic stops. Under load V8 grows its young generation to 32 MB and keeps it, and buffers of
 * messages that are long gone wait for a full collection; V8 only collects them itself once its allocation statistics
 * call the process idle, which takes some 20 s after a burst. A server that stored 1,000,000 messages held 135-145 MB
 * until then; with the collection this runs half a second after the last message in or out, 100-108 MB.
 *
 * It runs once per burst: only when the heap and buffers grew by `minGrowthBytes` since the last collection.
 */
export class IdleMemoryReducer {
  private readonly idleMs: number;
  private readonly minGrowthBytes: number;
  private readonly maxUsedHeapBytes: number;
  private readonly collect: () => Promise<void>;
  private readonly timer: NodeJS.Timeout;
  private lastActivity: number;
  private quietSince = performance.now();
  private baseline = footprint().total;
  private collecting = false;

  constructor(
    /** A count that changes whenever clients are served (messages in, messages out, acks). */
    private readonly activity: () => number,
    private readonly log: Logger,
    opts: IdleMemoryOptions = {},
  ) {
    this.idleMs = opts.idleMs ?? IDLE_MS;
    this.minGrowthBytes = opts.minGrowthBytes ?? MIN_GROWTH_BYTES;
    this.maxUsedHeapBytes = opts.maxUsedHeapBytes ?? MAX_USED_HEAP_BYTES;
    this.collect = opts.collect ?? collectAllGarbage;
    this.lastActivity = activity();
    this.timer = setInterval(() => this.check(), opts.checkMs ?? CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    const now = performance.now();
    const activity = this.activity();
    if (activity !== this.lastActivity) {
      this.lastActivity = activity;
      this.quietSince = now;
      return;
    }
    if (this.collecting || now - this.quietSince < this.idleMs) return;
    const before = footprint();
    // V8 may have shrunk things itself since: growth counts from the lowest point seen.
    this.baseline = Math.min(this.baseline, before.total);
    if (before.total < this.baseline + this.minGrowthBytes) return;
    if (before.used > this.maxUsedHeapBytes) {
      // Not again for this much growth: the next check would come to the same answer.
      this.baseline = before.total;
      return;
    }
    this.collecting = true;
    const started = performance.now();
    this.collect().then(
      () => {
        this.collecting = false;
        const after = footprint();
        this.baseline = after.total;
        this.log.debug({ beforeMB: mb(before.total), afterMB: mb(after.total), ms: Math.round(performance.now() - started) }, 'idle: memory given back');
      },
      (err: unknown) => {
        // Without an inspector (a Node built without it), there is nothing to retry.
        this.stop();
        this.log.warn({ err }, 'idle: cannot collect garbage; memory is left to V8');
      },
    );
  }
}

function mb(bytes: number): number {
  return Math.round(bytes / 1048576);
}

/**
 * A full collection that also shrinks the young generation and releases the freed pages, as V8 does on a low memory
 * notification. Node offers no direct call for it; the inspector protocol's HeapProfiler.collectGarbage is that.
 */
async function collectAllGarbage(): Promise<void> {
  // Loaded on first use (it adds some 2 ms to a start otherwise), with require: the bundled command line runs as a
  // vm.Script, which has no dynamic import.
  const { Session } = createRequire(import.meta.url)('node:inspector') as typeof Inspector;
  const session = new Session();
  session.connect();
  try {
    await new Promise<void>((resolve, reject) => session.post('HeapProfiler.collectGarbage', (err) => (err ? reject(err) : resolve())));
  } finally {
    session.disconnect();
  }
}
