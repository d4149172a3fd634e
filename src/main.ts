#!/usr/bin/env node
import { usage } from './config/flags.js';
import { OptionsError, loadOptions } from './config/load.js';
import { sendSignal } from './config/signal.js';
import { IdleMemoryReducer } from './idle-memory.js';
import { runServer } from './runner.js';
import { VERSION } from './version.js';

/** Exit code when the server had to stop serving (lock lost, another active server), so that supervisors restart it. */
const EXIT_FATAL = 2;

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
  if (loaded.version) {
    process.stdout.write(`nats-streaming-ts version ${VERSION} (compatible with nats-streaming-server ${VERSION})\n`);
    return 0;
  }
  if (loaded.help) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  if (loaded.signal) {
    try {
      process.stdout.write(`${sendSignal(loaded.signal, loaded.options.pidFile)}\n`);
      return 0;
    } catch (err) {
      process.stderr.write(`nats-streaming-server: ${(err as Error).message}\n`);
      return 1;
    }
  }
  let running;
  try {
    running = await runServer(loaded.options, {
      // The server has already stopped acking; leave so that a standby can take over.
      onFatal: () => setTimeout(() => process.exit(EXIT_FATAL), 50),
    });
  } catch (err) {
    process.stderr.write(`nats-streaming-server: ${(err as Error).message}\n`);
    return 1;
  }
  const { log, server } = running;
  // The command line owns its process, so it decides when memory is given back; a program that embeds the server
  // keeps that decision. It starts once the server serves: recovery, or a standby's wait, is not a burst of traffic.
  let idleMemory: IdleMemoryReducer | undefined;
  return new Promise<number>((resolve) => {
    let stopping = false;
    running.ready.then(
      () => {
        if (!stopping) idleMemory = new IdleMemoryReducer(() => server.counters.inMsgs + server.counters.outMsgs + server.counters.acks, log);
      },
      () => undefined,
    );
    const stop = (signal: string, code: number) => {
      if (stopping) return;
      stopping = true;
      idleMemory?.stop();
      log.info({ signal }, 'stopping');
      running.stop().then(
        () => resolve(code),
        (err: unknown) => {
          log.error({ err }, 'error while stopping');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM', 0));
    process.on('SIGINT', () => stop('SIGINT', 0));
    process.on('SIGUSR1', () => {
      running.reopenLog();
      log.info('log file reopened');
    });
    running.ready.catch((err: unknown) => {
      if (stopping) return;
      log.error({ err }, 'cannot start');
      process.stderr.write(`nats-streaming-server: ${(err as Error).message}\n`);
      stop('start-up failure', 1);
    });
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`nats-streaming-server: fatal: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
