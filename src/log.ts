import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';
import type pinoPrettyModule from 'pino-pretty';

export type { Logger };

export interface LogSettings {
  debug: boolean;
  trace: boolean;
  file: string;
  time: boolean;
}

export interface ServerLog {
  logger: Logger;
  /** Reopens the -l file (after logrotate moved it); a no-op on stdout. */
  reopen(): void;
}

/**
 * JSON lines (or the -l file), at info, debug (-SD) or trace (-SV); human-readable lines when stdout is a terminal
 * and there is no log file.
 */
export function createServerLog(settings: LogSettings): ServerLog {
  const level = settings.trace ? 'trace' : settings.debug ? 'debug' : 'info';
  if (!settings.file && process.stdout.isTTY) {
    // Loaded only for a terminal: a server under a supervisor never needs it, and it is slow to load.
    const pinoPretty = createRequire(import.meta.url)('pino-pretty') as typeof pinoPrettyModule;
    const pretty = pinoPretty({ colorize: true, translateTime: settings.time ? 'SYS:standard' : false, ignore: 'pid,hostname' });
    return { logger: pino({ level, base: undefined }, pretty), reopen: () => {} };
  }
  const destination = settings.file ? pino.destination({ dest: settings.file, mkdir: true, sync: false }) : pino.destination(1);
  const logger = pino({ level, base: undefined, timestamp: settings.time ? pino.stdTimeFunctions.isoTime : false }, destination);
  return { logger, reopen: () => (settings.file ? destination.reopen() : undefined) };
}

export function createLogger(settings: LogSettings): Logger {
  return createServerLog(settings).logger;
}
