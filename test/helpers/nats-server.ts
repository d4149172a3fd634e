import { freePort } from './ports.js';
import { type Managed, startProcess } from './process.js';

export interface NatsServer {
  port: number;
  url: string;
  proc: Managed;
  stop(): Promise<void>;
}

/** A real nats-server on a free loopback port, for the length of a test file. */
export async function startNatsServer(): Promise<NatsServer> {
  const port = await freePort();
  const proc = startProcess('nats-server', ['-a', '127.0.0.1', '-p', String(port)]);
  await proc.waitFor(/Server is ready/);
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    proc,
    stop: async () => {
      await proc.stop();
    },
  };
}
