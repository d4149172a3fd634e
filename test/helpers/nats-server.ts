import { after, before } from 'node:test';
import { type NatsConnection, connect } from 'nats';
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

/** Two connections to one nats-server: one to publish with, one to subscribe with. */
export interface NatsPair {
  pub: NatsConnection;
  sub: NatsConnection;
}

/**
 * A nats-server and two connections to it for the enclosing describe block: started before its tests, closed after.
 * The connections are on the returned object once the tests run.
 */
export function natsPairForSuite(): NatsPair {
  let nats: NatsServer;
  const pair = {} as NatsPair;
  before(async () => {
    nats = await startNatsServer();
    pair.pub = await connect({ servers: nats.url });
    pair.sub = await connect({ servers: nats.url });
  });
  after(async () => {
    await pair.pub.close();
    await pair.sub.close();
    await nats.stop();
  });
  return pair;
}
