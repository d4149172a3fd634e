import { type ChildProcess, spawn } from 'node:child_process';
import type { Logger } from '../log.js';

export class NatsServerMissing extends Error {
  constructor() {
    super(
      'nats-server was not found on the PATH. Without -ns this server starts its own NATS server: install it ' +
        '(Debian/Ubuntu: apt-get install nats-server) or point -ns at a running one (for example -ns nats://127.0.0.1:4222).',
    );
  }
}

/**
 * Without -ns, the Go server embeds a NATS server; we run `nats-server` as a child on the same host and port, restart
 * it if it dies, and stop it when we stop.
 */
export class EmbeddedNats {
  private child: ChildProcess | undefined;
  private stopped = false;

  constructor(
    private readonly args: string[],
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    await this.spawnOnce();
  }

  private spawnOnce(): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn('nats-server', this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
      this.child = child;
      let ready = false;
      let output = '';
      const onData = (d: Buffer) => {
        const text = d.toString();
        for (const line of text.split('\n')) if (line.trim()) this.log.debug({ nats: line.trim() }, 'nats-server');
        if (ready) return;
        output += text;
        if (/Server is ready/.test(output)) {
          ready = true;
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.on('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? new NatsServerMissing() : err));
      child.on('exit', (code, signal) => {
        if (!ready) {
          reject(new Error(`nats-server exited (${code ?? signal}) before it was ready:\n${output.trim()}`));
          return;
        }
        if (this.stopped) return;
        this.log.error({ code, signal }, 'embedded nats-server exited; restarting it');
        setTimeout(() => {
          if (!this.stopped) this.spawnOnce().catch((err: unknown) => this.log.error({ err }, 'cannot restart nats-server'));
        }, 250);
      });
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    });
  }
}

/** The nats-server command line for the child, from our -a/-p and the NATS flags the user gave. */
export function embeddedNatsArgs(host: string, port: number, passthrough: string[]): string[] {
  const own = passthrough.filter((a) => !/^-(a|addr|net|p|port)=/.test(a));
  return ['-a', host, '-p', String(port), ...own];
}
