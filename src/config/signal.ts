import { readFileSync } from 'node:fs';

/** What `--signal` sends, as the Go server's command does. */
const SIGNALS: Record<string, NodeJS.Signals> = {
  stop: 'SIGKILL',
  quit: 'SIGINT',
  term: 'SIGTERM',
  reopen: 'SIGUSR1',
  reload: 'SIGHUP',
  ldm: 'SIGUSR2',
};

/** Sends `--signal name[=PID]` to a running server; the PID comes from the argument or the -P file. */
export function sendSignal(arg: string, pidFile: string): string {
  const [name, pidText] = arg.split('=', 2) as [string, string | undefined];
  const signal = SIGNALS[name];
  if (!signal) throw new Error(`unknown signal "${name}" (expected one of ${Object.keys(SIGNALS).join(', ')})`);
  let pid: number;
  if (pidText !== undefined) pid = Number(pidText);
  else if (pidFile) pid = Number(readFileSync(pidFile, 'utf8').trim());
  else throw new Error('no process to signal: give it as --signal NAME=PID or name its pid file with -P');
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`invalid PID "${pidText ?? pidFile}"`);
  process.kill(pid, signal);
  return `sent ${signal} to process ${pid}`;
}
