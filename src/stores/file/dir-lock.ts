import fs from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { lock as fcntlLock } from 'os-lock';
import lockfile from 'proper-lockfile';

/**
 * The Go server's lock: an fcntl write lock on this file. The kernel drops it when its holder dies, which is what lets
 * a standby take over within a fraction of a second, and it keeps a Go server and ours from sharing a directory.
 */
export const GO_LOCK_FILE = '.rootdir.lck';

/**
 * fcntl locks belong to the process: a second store in this process would get the lock again, and closing its file
 * would drop the first store's lock. So the directories locked by this process are tracked here.
 */
const lockedInProcess = new Set<string>();

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
  private goLock: FileHandle | undefined;
  private goLockKey: string | undefined;
  /** When the lock was taken or last refreshed (ms since epoch), for monitoring. */
  refreshedAt = 0;

  constructor(
    private readonly dir: string,
    private readonly onLost: (err: Error) => void,
  ) {}

  get held(): boolean {
    return this.release !== undefined;
  }

  /**
   * True when we hold the lock (now or already), false when another process holds it. The fcntl lock comes first:
   * holding it proves that whoever left a proper-lockfile lock behind is dead, so that one is taken over at once
   * instead of after its stale time.
   */
  async acquire(): Promise<boolean> {
    if (this.release) return true;
    if (!(await this.acquireGoLock())) return false;
    try {
      this.release = await this.lockDir();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') {
        await this.releaseGoLock();
        throw err;
      }
      await rm(join(this.dir, LOCK_DIR), { recursive: true, force: true });
      try {
        this.release = await this.lockDir();
      } catch (again) {
        await this.releaseGoLock();
        if ((again as NodeJS.ErrnoException).code === 'ELOCKED') return false;
        throw again;
      }
    }
    this.refreshedAt = Date.now();
    return true;
  }

  private lockDir(): Promise<() => Promise<void>> {
    return lockfile.lock(this.dir, {
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
  }

  private async acquireGoLock(): Promise<boolean> {
    const key = fs.realpathSync(this.dir);
    if (lockedInProcess.has(key)) return false;
    lockedInProcess.add(key);
    let handle: FileHandle;
    try {
      handle = await open(join(this.dir, GO_LOCK_FILE), 'w');
    } catch (err) {
      lockedInProcess.delete(key);
      throw err;
    }
    try {
      await fcntlLock(handle.fd, { exclusive: true, immediate: true });
    } catch (err) {
      await handle.close();
      lockedInProcess.delete(key);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EACCES' || code === 'EWOULDBLOCK') return false;
      throw err;
    }
    this.goLock = handle;
    this.goLockKey = key;
    return true;
  }

  private async releaseGoLock(): Promise<void> {
    const handle = this.goLock;
    this.goLock = undefined;
    await handle?.close();
    if (this.goLockKey) lockedInProcess.delete(this.goLockKey);
    this.goLockKey = undefined;
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
    await this.releaseGoLock();
  }
}
