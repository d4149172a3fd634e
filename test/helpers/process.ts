import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, readdirSync } from 'node:fs';

export interface Managed {
  child: ChildProcess;
  output(): string;
  /** Resolves with the first output line that matches, rejects when the process exits first or time runs out. */
  waitFor(pattern: RegExp, ms?: number): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited(): Promise<number | null>;
}

export function startProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Managed {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exit = new Promise<number | null>((resolve) => {
    child.on('exit', (code, sig) => {
      for (const l of listeners) l();
      resolve(code ?? (sig ? 128 : null));
    });
  });
  let exitCode: number | null | undefined;
  void exit.then((c) => (exitCode = c));
  return {
    child,
    output: () => out,
    waitFor(pattern, ms = 15000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(pattern);
          if (m) return done(() => resolve(m[0]));
          if (exitCode !== undefined || child.exitCode !== null)
            return done(() => reject(new Error(`${cmd} exited before ${pattern}:\n${out}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`timed out waiting for ${pattern}:\n${out}`))), ms);
        const done = (f: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          f();
        };
        listeners.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return exit;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
      const code = await exit;
      clearTimeout(timer);
      return code;
    },
    exited: () => exit,
  };
}

export async function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
}

/**
 * Waits until every thread of these processes is stopped (after a SIGSTOP). A thread stops only on its way out of the
 * kernel, so a database thread busy with a disk write can still commit, and answer, a statement after kill() returned.
 */
export async function untilStopped(pids: number[], ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pids.every(allThreadsStopped)) {
    if (Date.now() > deadline) throw new Error(`processes ${pids.join(', ')} did not stop within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function allThreadsStopped(pid: number): boolean {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return true; // gone
  }
  return tids.every((tid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      return 'TtZX'.includes(stat[stat.lastIndexOf(')') + 2]!);
    } catch {
      return true;
    }
  });
}
