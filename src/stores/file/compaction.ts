import type { FileStoreOptions } from '../../config/options.js';

/**
 * The Go store's rule for rewriting subs.dat or clients.dat without their dead records: compaction is enabled, the file
 * has reached the minimum size, enough of it is dead, and the last compaction is at least compactInterval seconds old.
 */
export function compactionDue(o: FileStoreOptions, fileSize: number, fragmentationPercent: number, lastCompactMs: number): boolean {
  if (!o.compactEnabled) return false;
  if (o.compactMinFileSize > 0 && fileSize < o.compactMinFileSize) return false;
  if (fragmentationPercent < o.compactFragmentation) return false;
  return Date.now() - lastCompactMs >= o.compactInterval * 1000;
}
