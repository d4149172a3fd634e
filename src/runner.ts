import { rmSync, writeFileSync } from 'node:fs';
import type { ServerOptions } from './config/options.js';
import { type Logger, createServerLog } from './log.js';
import { MonitorServer } from './monitor/http.js';
import { EmbeddedNats, embeddedNatsArgs } from './server/embedded-nats.js';
import { StanServer } from './server/server.js';
import { createStore } from './stores/factory.js';

/** A server with everything around it: the NATS child if any, the monitoring endpoint, the pid file. */
export interface RunningServer {
  server: StanServer;
  monitorPort: number | undefined;
  natsUrl: string;
  log: Logger;
  /** Reopens the log file, for SIGUSR1 after a log rotation. */
  reopenLog(): void;
  /** Resolves once the server serves clients (for an FT standby: once it became active); rejects if it cannot start. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

export interface RunHooks {
  log?: Logger;
  /** What to do when the server must stop serving at once (store lock lost); the CLI exits non-zero. */
  onFatal?: (err: Error) => void;
}

/**
 * Starts the server described by the options, as the command line does. Returns once the NATS server and the
 * monitoring endpoint are up; `ready` tells when clients are served.
 */
export async function runServer(opts: ServerOptions, hooks: RunHooks = {}): Promise<RunningServer> {
  const serverLog = hooks.log ? { logger: hooks.log, reopen: () => {} } : createServerLog({ debug: opts.streamingDebug, trace: opts.streamingTrace, file: opts.logFile, time: opts.logTime });
  const log = serverLog.logger;
  if (opts.ftGroup && opts.storeType === 'MEMORY') throw new Error('ft: only FILE or SQL stores supported in FT mode');
  if (opts.clustering.clustered) throw new Error('clustering (RAFT) is not supported by this server; use an FT group (--ft_group) for high availability');
  let nats: EmbeddedNats | undefined;
  let natsUrl = opts.natsServerUrl;
  if (!natsUrl) {
    nats = new EmbeddedNats(embeddedNatsArgs(opts.host, opts.port, opts.natsChildArgs), log);
    await nats.start();
    const host = opts.host === '0.0.0.0' || opts.host === '' ? '127.0.0.1' : opts.host;
    natsUrl = `nats://${host}:${opts.port}`;
    log.info({ url: natsUrl }, 'started nats-server');
  }
  let monitor: MonitorServer | undefined;
  let server: StanServer | undefined;
  const stopAll = async () => {
    await server?.shutdown();
    await monitor?.close();
    await nats?.stop();
    if (opts.pidFile) rmSync(opts.pidFile, { force: true });
  };
  let monitorPort: number | undefined;
  let loadMetrics: (() => Promise<unknown>) | undefined;
  try {
    const store = await createStore(opts, log);
    server = new StanServer(opts, store, log);
    server.onFatal = hooks.onFatal ?? (() => {});
    if (opts.httpPort) {
      monitor = new MonitorServer(() => server, log);
      const srv = server;
      // prom-client takes a noticeable part of the start-up: it is loaded once the server serves (or at the first
      // scrape, if earlier), so that a restart or a failover is not slower for it. Its counters read the server's.
      let metrics: Promise<ReturnType<typeof import('./monitor/metrics.js').createMetrics>> | undefined;
      const load = () =>
        (metrics ??= import('./monitor/metrics.js').then(({ createMetrics }) => {
          const created = createMetrics(() => srv, { perSubscription: opts.subscriptionMetrics });
          srv.counters.onStoreFlush = (seconds) => created.storeFlush.observe(seconds);
          return created;
        }));
      loadMetrics = load;
      monitor.extra.set('/metrics', async (_req, res) => {
        const metrics = await load();
        const body = await metrics.registry.metrics();
        res.writeHead(200, { 'Content-Type': metrics.registry.contentType });
        res.end(body);
      });
      monitorPort = await monitor.listen(opts.httpHost || opts.host, opts.httpPort === -1 ? 0 : opts.httpPort);
      log.info({ port: monitorPort }, 'monitoring endpoint listening');
    }
    if (opts.pidFile) writeFileSync(opts.pidFile, String(process.pid));
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }
  const ready = server.start(natsUrl);
  ready.catch(() => undefined);
  if (loadMetrics) void ready.then(loadMetrics).catch((err: unknown) => log.error({ err }, 'cannot load the metrics module'));
  return { server, monitorPort, natsUrl, log, reopenLog: serverLog.reopen, ready, stop: stopAll };
}
