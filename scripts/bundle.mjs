// Bundles the command line into dist/bin/ (after tsc): nats-streaming-server.cjs, the entry, runs server.cjs, the
// whole server in one file, through a V8 code cache (see src/launch.cts). Every restart and failover waits for the
// server's code to load: from some three hundred modules, a FILE store of 1,000,000 messages served 440 ms after the
// spawn; from this bundle and its code cache, 266 ms (medians of 7). The library (dist/src/index.js) is not bundled.
import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { build } from 'esbuild';

const dist = new URL('../dist/', import.meta.url).pathname;
const outdir = `${dist}bin/`;
const common = { bundle: true, format: 'cjs', platform: 'node', target: 'node20', write: false, logLevel: 'warning' };

const server = await build({
  ...common,
  entryPoints: [`${dist}src/main.js`],
  // Loaded from node_modules when used: a native addon, the terminal log formatter, and the SQL drivers (half the
  // bundle's size otherwise, and 9 MB of resident memory for servers on other stores).
  external: ['os-lock', 'pino-pretty', 'pg', 'pg-native', 'mysql2'],
  // import.meta does not exist in CommonJS; the modules that use it want the URL of the file they run from.
  define: { 'import.meta.url': '__bundleUrl' },
  // 'use strict' comes first: esbuild's own, after the banner, would no longer count.
  banner: { js: "'use strict';\nconst __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
});
// esbuild keeps main.ts's #! line first; in the module body the launcher wraps server.cjs in, it is a syntax error.
const serverCode = server.outputFiles[0].text.replace(/^#!.*\n/, '');
const launcher = await build({
  ...common,
  entryPoints: [`${dist}src/launch.cjs`],
  banner: { js: '#!/usr/bin/env node' },
  // The launcher keys its code cache on the bundle's content.
  define: { BUNDLE_SHA256: JSON.stringify(createHash('sha256').update(serverCode).digest('hex')) },
});

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });
await writeFile(`${outdir}server.cjs`, serverCode);
await writeFile(`${outdir}nats-streaming-server.cjs`, launcher.outputFiles[0].text, { mode: 0o755 });
