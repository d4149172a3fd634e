import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { Logger } from '../log.js';
import type { StanServer } from '../server/server.js';
import { channelsz, clientsz, serverz, storez } from './endpoints.js';

export class BadRequest extends Error {}
export class NotFound extends Error {}

/** JSON as Go's encoding/json writes it: two-space indent, and <, >, &, U+2028, U+2029 escaped inside strings. */
export function goJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

type Handler = (srv: StanServer, query: URLSearchParams) => unknown;

const JSON_ENDPOINTS: Record<string, Handler> = {
  '/streaming/serverz': serverz,
  '/streaming/storez': storez,
  '/streaming/clientsz': clientsz,
  '/streaming/channelsz': channelsz,
};

const INDEX = `<html lang="en">
  <head><title>NATS Streaming monitoring</title></head>
  <body>
    <h1>NATS Streaming</h1>
    <a href=./streaming/serverz>server</a><br/>
    <a href=./streaming/storez>store</a><br/>
    <a href=./streaming/clientsz>clients</a><br/>
    <a href=./streaming/channelsz>channels</a><br/>
  </body>
</html>
`;

/** The monitoring HTTP server (-m): the Go server's /streaming endpoints, plus whatever `extra` routes add. */
export class MonitorServer {
  private http: Server | undefined;
  readonly extra = new Map<string, (req: IncomingMessage, res: ServerResponse) => void | Promise<void>>();

  constructor(
    private readonly srv: () => StanServer | undefined,
    private readonly log: Logger,
  ) {}

  listen(host: string, port: number): Promise<number> {
    const http = createServer((req, res) => void this.handle(req, res));
    this.http = http;
    return new Promise((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, host, () => {
        const addr = http.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.http ? this.http.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    try {
      const extra = this.extra.get(path);
      if (extra) return await extra(req, res);
      if (path === '/streaming' || path === '/') {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end(INDEX);
        return;
      }
      const srv = this.srv();
      if (path === '/streaming/isFTActive') {
        res.writeHead(srv?.state === 'FT_ACTIVE' ? 200 : 204);
        res.end();
        return;
      }
      const handler = JSON_ENDPOINTS[path];
      if (!handler) {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('404 page not found\n');
        return;
      }
      if (!srv || !srv.context) {
        res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('server is not serving yet\n');
        return;
      }
      const body = goJson(handler(srv, url.searchParams));
      const callback = url.searchParams.get('callback');
      if (callback) {
        res.writeHead(200, { 'Content-Type': 'application/javascript' });
        res.end(`${callback}(${body})`);
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(body);
    } catch (err) {
      if (err instanceof BadRequest || err instanceof NotFound) {
        res.writeHead(err instanceof NotFound ? 404 : 400, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
        res.end(`${err.message}\n`);
        return;
      }
      this.log.error({ err, path }, 'monitoring request failed');
      res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('internal error\n');
    }
  }
}
