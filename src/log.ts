import { pino, type Logger } from 'pino';

export type { Logger };

export interface LogSettings {
  debug: boolean;
  trace: boolean;
  file: string;
  time: boolean;
}

/** JSON lines on stdout (or the -l file), at info, debug (-SD) or trace (-SV). */
export function createLogger(settings: LogSettings): Logger {
  const level = settings.trace ? 'trace' : settings.debug ? 'debug' : 'info';
  const destination = settings.file ? pino.destination({ dest: settings.file, mkdir: true, sync: false }) : pino.destination(1);
  return pino({ level, base: undefined, timestamp: settings.time ? pino.stdTimeFunctions.isoTime : false }, destination);
}
