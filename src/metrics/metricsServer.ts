/**
 * The read-only HTTP endpoint of `--metrics [ADDR:]PORT`: GET or HEAD /metrics answers the Prometheus text
 * of what `collect` returns at that moment. Nothing in a request can change anything; node:http only.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIPv4, isIPv6, type AddressInfo } from 'node:net';
import { metricsText, type MetricsInput } from './prometheusText.js';

export type ListenAddress = { host: string; port: number };

export interface MetricsServer {
  /** http://HOST:PORT/metrics with the address and port actually bound. */
  url: string;
  /** Stops listening and closes every connection, idle keep-alive ones included. */
  close(): Promise<void>;
}

const CONTENT_TYPE_METRICS = 'text/plain; version=0.0.4; charset=utf-8';
const CONTENT_TYPE_TEXT = 'text/plain; charset=utf-8';

/** A DNS name: dot-separated labels of letters, digits and inner hyphens. */
const HOST_NAME = /^(?=.{1,253}\.?$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

/**
 * `PORT` (on 127.0.0.1), `ADDR:PORT` with an IPv4 address or host name, or `[IPv6]:PORT`.
 * The port is 0 to 65535 (0: any free port). Errors are one line.
 */
export function parseListenAddress(spec: string): ListenAddress | { error: string } {
  const shown = JSON.stringify(spec);
  if (/^\d+$/.test(spec)) return withPort('127.0.0.1', spec, shown);
  const bracketed = /^\[([^\]]*)\]:(.*)$/s.exec(spec);
  if (bracketed) {
    const host = bracketed[1]!;
    if (!isIPv6(host)) return { error: `${shown}: [${host}] is not an IPv6 address` };
    return withPort(host, bracketed[2]!, shown);
  }
  const colon = spec.lastIndexOf(':');
  if (colon < 0) return { error: `${shown} is not a port or ADDR:PORT (for example 9100 or 0.0.0.0:9100)` };
  const host = spec.slice(0, colon);
  if (host === '') return { error: `${shown}: the address is missing (PORT alone listens on 127.0.0.1, 0.0.0.0:PORT on every interface)` };
  if (host.includes(':')) return { error: `${shown}: an IPv6 address goes in brackets, for example [::1]:9100` };
  const numeric = /^[\d.]+$/.test(host);
  if (numeric ? !isIPv4(host) : !HOST_NAME.test(host)) return { error: `${shown}: ${JSON.stringify(host)} is not an IPv4 address or host name` };
  return withPort(host, spec.slice(colon + 1), shown);
}

function withPort(host: string, portText: string, shown: string): ListenAddress | { error: string } {
  if (portText === '') return { error: `${shown}: the port is missing` };
  if (!/^\d+$/.test(portText)) return { error: `${shown}: the port ${JSON.stringify(portText)} is not a number` };
  const port = Number(portText);
  if (port > 65535) return { error: `${shown}: the port ${portText} is out of range (0 to 65535)` };
  return { host, port };
}

/** Starts listening; rejects with a one-line Error ('cannot listen on 127.0.0.1:9100: address in use'). */
export async function startMetricsServer(options: { listen: ListenAddress; collect(): MetricsInput }): Promise<MetricsServer> {
  const { listen, collect } = options;
  const server = createServer((request, response) => respond(request, response, collect));
  // Scrapers reconnect cheaply; short timeouts keep idle and slow connections from lingering.
  server.keepAliveTimeout = 2_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: listen.host, port: listen.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    throw new Error(`cannot listen on ${hostPort(listen.host, listen.port)}: ${listenProblem(error)}`);
  }
  // Once listening, an error (a failed accept when out of file descriptors) passes; the next scrape retries.
  server.on('error', () => {});
  const bound = server.address() as AddressInfo;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${hostPort(bound.address, bound.port)}/metrics`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function respond(request: IncomingMessage, response: ServerResponse, collect: () => MetricsInput): void {
  const method = request.method ?? '';
  const head = method === 'HEAD';
  if (method !== 'GET' && !head) {
    send(response, false, 405, CONTENT_TYPE_TEXT, 'only GET and HEAD are served\n', { Allow: 'GET, HEAD', Connection: 'close' });
    return;
  }
  const path = (request.url ?? '').replace(/[?#].*$/s, '');
  if (path === '/metrics') {
    let body: string;
    try {
      body = metricsText(collect());
    } catch (error) {
      send(response, head, 500, CONTENT_TYPE_TEXT, `cannot collect the figures: ${oneLine(error)}\n`);
      return;
    }
    send(response, head, 200, CONTENT_TYPE_METRICS, body);
  } else if (path === '/') {
    send(response, head, 200, CONTENT_TYPE_TEXT, 'lora-top: the Prometheus metrics are on /metrics\n');
  } else {
    send(response, head, 404, CONTENT_TYPE_TEXT, 'not found: the metrics are on /metrics\n');
  }
}

function send(response: ServerResponse, head: boolean, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': String(Buffer.byteLength(body)),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  response.end(head ? undefined : body);
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function listenProblem(error: unknown): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'EADDRINUSE': return 'address in use';
    case 'EACCES': return 'permission denied';
    case 'EADDRNOTAVAIL': return 'no such address on this machine';
    case 'ENOTFOUND': case 'EAI_AGAIN': return 'unknown host';
    default: return oneLine(error);
  }
}

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim() || 'unknown error';
}
