#!/usr/bin/env node
import { loadOptions, OptionsError } from './config/load.js';
import { usage } from './config/flags.js';
import { runServer } from './runner.js';
import { VERSION } from './version.js';

async function main(argv: string[]): Promise<number> {
  let loaded;
  try {
    loaded = loadOptions(argv);
  } catch (err) {
    if (err instanceof OptionsError) {
      process.stderr.write(`nats-streaming-server: ${err.message}\n${err.showUsage ? `\n${usage()}\n` : ''}`);
      return 1;
    }
    throw err;
  }
  if (loaded.help) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  if (loaded.version) {
    process.stdout.write(`nats-streaming-ts version ${VERSION} (compatible with nats-streaming-server ${VERSION})\n`);
    return 0;
  }
  let running;
  try {
    running = await runServer(loaded.options);
  } catch (err) {
    process.stderr.write(`nats-streaming-server: ${(err as Error).message}\n`);
    return 1;
  }
  const { log } = running;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'received signal, stopping');
      running.stop().then(
        () => resolve(0),
        (err: unknown) => {
          log.error({ err }, 'error while stopping');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`nats-streaming-server: fatal: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
