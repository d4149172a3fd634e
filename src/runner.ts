import { writeFileSync, rmSync } from 'node:fs';
import type { ServerOptions } from './config/options.js';
import { createLogger, type Logger } from './log.js';
import { MonitorServer } from './monitor/http.js';
import { EmbeddedNats, embeddedNatsArgs } from './server/embedded-nats.js';
import { StanServer } from './server/server.js';
import { createStore } from './stores/factory.js';

/** A running server with everything around it: the NATS child if any, the monitoring endpoint, the pid file. */
export interface RunningServer {
  server: StanServer;
  monitorPort: number | undefined;
  natsUrl: string;
  log: Logger;
  stop(): Promise<void>;
}

/** Starts the server described by the options, as the command line does. */
export async function runServer(opts: ServerOptions, log: Logger = createLogger({ debug: opts.streamingDebug, trace: opts.streamingTrace, file: opts.logFile, time: opts.logTime })): Promise<RunningServer> {
  if (opts.ftGroup && opts.storeType === 'MEMORY') throw new Error('ft: only FILE or SQL stores supported in FT mode');
  let nats: EmbeddedNats | undefined;
  let natsUrl = opts.natsServerUrl;
  if (!natsUrl) {
    nats = new EmbeddedNats(embeddedNatsArgs(opts.host, opts.port, opts.natsChildArgs), log);
    await nats.start();
    const host = opts.host === '0.0.0.0' || opts.host === '' ? '127.0.0.1' : opts.host;
    natsUrl = `nats://${host}:${opts.port}`;
    log.info({ url: natsUrl }, 'started nats-server');
  }
  const store = await createStore(opts, log);
  const server = new StanServer(opts, store, log);
  let monitor: MonitorServer | undefined;
  let monitorPort: number | undefined;
  try {
    if (opts.httpPort) {
      monitor = new MonitorServer(() => server, log);
      monitorPort = await monitor.listen(opts.host, opts.httpPort === -1 ? 0 : opts.httpPort);
      log.info({ port: monitorPort }, 'monitoring endpoint listening');
    }
    await server.start(natsUrl);
    if (opts.pidFile) writeFileSync(opts.pidFile, String(process.pid));
  } catch (err) {
    await server.shutdown().catch(() => undefined);
    await monitor?.close();
    await nats?.stop();
    throw err;
  }
  return {
    server,
    monitorPort,
    natsUrl,
    log,
    async stop() {
      await server.shutdown();
      await monitor?.close();
      await nats?.stop();
      if (opts.pidFile) rmSync(opts.pidFile, { force: true });
    },
  };
}
