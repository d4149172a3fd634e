/**
 * The command line's entry point. It runs the bundled server (server.cjs, next to this file once built) through a V8
 * code cache: compiling the bundle's functions took about 55 ms of every start, and a restart or a failover waits for
 * them. The cache is written once, by the first run after a build, a few seconds after start so that it holds the
 * functions a start compiles. It lives next to the bundle, so it is as trusted as the code itself; when that folder is
 * read-only the server runs without a cache.
 */
import { readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { basename, join } from 'node:path';
import { Script } from 'node:vm';

const CACHE_WRITE_DELAY_MS = 5000;

/** The SHA-256 of server.cjs, set by scripts/bundle.mjs. */
declare const BUNDLE_SHA256: string;

const bundle = join(__dirname, 'server.cjs');
// V8 checks a cache against the source's length only, so the key names this very build of the bundle: its content's
// hash (size, mtime and inode are not enough: copies and packages keep them) and the V8 version.
const cacheFile = join(__dirname, `server.${BUNDLE_SHA256.slice(0, 16)}.${process.versions.v8}.cache`);

let cached: Buffer | undefined;
try {
  cached = readFileSync(cacheFile);
} catch {
  cached = undefined;
}
// The bundle is a CommonJS module body: it runs in the function Node wraps such a module in.
const source = `(function (exports, require, module, __filename, __dirname) { ${readFileSync(bundle, 'utf8')}\n});`;
const script = new Script(source, { filename: bundle, cachedData: cached });
if (!cached || script.cachedDataRejected) setTimeout(writeCache, CACHE_WRITE_DELAY_MS).unref();

const run = script.runInThisContext() as (exports: object, require: NodeJS.Require, module: Module, filename: string, dirname: string) => void;
const bundleModule = new Module(bundle, module);
bundleModule.filename = bundle;
run.call(bundleModule.exports, bundleModule.exports, Module.createRequire(bundle), bundleModule, bundle, __dirname);

function writeCache(): void {
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, script.createCachedData());
    renameSync(tmp, cacheFile);
    // Caches of other builds, and files left by a run killed between its write and its rename.
    for (const name of readdirSync(__dirname)) {
      if (name.startsWith('server.') && /\.(cache|tmp)$/.test(name) && name !== basename(cacheFile)) rmSync(join(__dirname, name), { force: true });
    }
  } catch {
    rmSync(tmp, { force: true });
  }
}
