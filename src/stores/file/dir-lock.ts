import fs from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';

/**
 * proper-lockfile's lock is a directory; it lives inside the store so that the store's parent need not be writable.
 * Its leading dot keeps it apart from channel directories (a channel name cannot start with a dot).
 */
export const LOCK_DIR = '.nss-ts.lock';

/** How old the lock's mtime may get before another process may take it over, and how often the holder refreshes it. */
const STALE_MS = 10_000;
const UPDATE_MS = 2_000;

/**
 * The fault-tolerance lock on a store directory. The holder refreshes it in the background; if that fails or someone
 * else took the lock over, `onLost` is called, since from then on two servers may write the same files.
 */
export class DirLock {
  private release: (() => Promise<void>) | undefined;
  /** When the lock was taken or last refreshed (ms since epoch), for monitoring. */
  refreshedAt = 0;

  constructor(
    private readonly dir: string,
    private readonly onLost: (err: Error) => void,
  ) {}

  get held(): boolean {
    return this.release !== undefined;
  }

  /** True when we hold the lock (now or already), false when another process or store holds it. */
  async acquire(): Promise<boolean> {
    if (this.release) return true;
    try {
      this.release = await lockfile.lock(this.dir, {
        lockfilePath: join(this.dir, LOCK_DIR),
        stale: STALE_MS,
        update: UPDATE_MS,
        retries: 0,
        realpath: false,
        fs: this.trackingFs(),
        onCompromised: (err) => {
          this.release = undefined;
          this.onLost(err);
        },
      });
      this.refreshedAt = Date.now();
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOCKED') return false;
      throw err;
    }
  }

  /** proper-lockfile refreshes the lock by touching it: watch that to know when it was last confirmed. */
  private trackingFs(): typeof fs {
    const utimes = (path: fs.PathLike, atime: fs.TimeLike, mtime: fs.TimeLike, cb: fs.NoParamCallback) =>
      fs.utimes(path, atime, mtime, (err) => {
        if (!err) this.refreshedAt = Date.now();
        cb(err);
      });
    return { ...fs, utimes } as typeof fs;
  }

  async unlock(): Promise<void> {
    const release = this.release;
    this.release = undefined;
    if (release) await release().catch(() => undefined);
  }
}
