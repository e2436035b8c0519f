/**
 * The HTTP and HTTPS listeners (fastify): /healthz, /metrics and JMAP. The
 * node (net/node.ts) starts one per configured address and stops it with the
 * other listeners: it stops accepting, ends push streams, lets requests in
 * flight finish and closes idle keep-alive connections.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { TlsOptions } from 'node:tls';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { ListenAddress } from '../config/schema.js';
import type { MailDomain } from '../domain/mail-domain.js';
import type { Logger } from '../observability/log.js';
import { connectionOpened } from '../observability/metrics.js';
import { HttpAuthenticator } from './auth.js';
import { registerProbes } from './probes.js';
import { registerJmap } from './jmap/routes.js';
import { securityHeaders } from './security.js';

export interface WebSettings {
  maxRequestBytes: number;
  headersTimeoutSeconds: number;
  requestTimeoutSeconds: number;
  keepAliveSeconds: number;
  tokenLifetimeSeconds: number;
  metricsToken?: string;
  /** Largest blob upload (RFC 8620 maxSizeUpload): the node's message size limit. */
  maxMessageBytes: number;
  allowCleartextAuthFromLoopback: boolean;
  authFailureDelayMs: number;
}

export interface WebListenerOptions {
  name: 'http' | 'https';
  address: ListenAddress;
  /** Server TLS options (certificate, key, minimum version) for https; null for http. */
  tls: TlsOptions | null;
  domain: MailDomain;
  settings: WebSettings;
  /** Takes a slot of the node's connection limits for a client address; null when full. */
  admit(ip: string): (() => void) | null;
  log: Logger;
}

export interface RunningWebListener {
  address: ListenAddress;
  /** Graceful: no new connections, push streams ended, requests in flight answered. */
  close(): Promise<void>;
}

export async function startWebListener(opts: WebListenerOptions): Promise<RunningWebListener> {
  const app = buildWebApp(opts);
  await app.listen({ host: opts.address.host, port: opts.address.port });
  const bound = app.server.address();
  const port = typeof bound === 'object' && bound ? bound.port : opts.address.port;
  return { address: { host: opts.address.host, port }, close: () => app.close() };
}

/** The application on its (not yet listening) server; tests call `inject()` on it. */
export function buildWebApp(opts: WebListenerOptions): FastifyInstance {
  const { settings } = opts;
  const tls = opts.tls !== null;
  const app = Fastify({
    serverFactory: (handler) => makeServer(opts, handler),
    bodyLimit: settings.maxRequestBytes,
    // Idle keep-alive connections are closed at shutdown; requests in flight are answered first.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // Behind a proxy the operator decides; we never trust X-Forwarded-For by default (it would defeat the throttle).
    trustProxy: false,
    loggerInstance: opts.log.child({ protocol: 'http' }) as FastifyBaseLogger,
    // No line per request (a node serving webmail would log every poll); errors are logged below.
    logController: new LogController({ disableRequestLogging: true }),
  });
  const headers = securityHeaders(tls);
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.headers(headers);
    return payload;
  });
  // Errors reach clients as a status and a short reason, never a stack, path or SQL.
  app.setErrorHandler((err: { statusCode?: number; message?: string }, request, reply) => {
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) request.log.error({ err }, 'http request failed');
    void reply
      .code(status)
      .type('application/problem+json')
      .send({ type: 'about:blank', status, detail: status === 500 ? 'Internal server error' : (err.message ?? 'Bad request') });
  });
  app.setNotFoundHandler((_request, reply) => {
    void reply.code(404).type('application/problem+json').send({ type: 'about:blank', status: 404, detail: 'Not found' });
  });
  const auth = new HttpAuthenticator(opts.domain, {
    tls,
    allowCleartextAuthFromLoopback: settings.allowCleartextAuthFromLoopback,
    tokenLifetimeSeconds: settings.tokenLifetimeSeconds,
    authFailureDelayMs: settings.authFailureDelayMs,
  });
  registerProbes(app, { domain: opts.domain, metricsToken: settings.metricsToken });
  registerJmap(app, { domain: opts.domain, auth, tls, maxRequestBytes: settings.maxRequestBytes, maxUploadBytes: settings.maxMessageBytes });
  return app;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

function makeServer(opts: WebListenerOptions, handler: Handler): Server {
  const { settings } = opts;
  const server: Server = opts.tls
    ? // https.Server has http.Server's surface (timeouts, closeIdleConnections); fastify drives both alike.
      (createHttpsServer({ ...opts.tls, handshakeTimeout: 30_000 }, handler) as unknown as Server)
    : createHttpServer(handler);
  server.headersTimeout = settings.headersTimeoutSeconds * 1000;
  server.requestTimeout = settings.requestTimeoutSeconds * 1000;
  server.keepAliveTimeout = settings.keepAliveSeconds * 1000;
  // A request head larger than this is refused (431) before any of our code runs.
  server.maxHeadersCount = 100;
  // Counted at the TCP accept with every other protocol's connections (the node's limits), like IMAPS.
  server.on('connection', (socket: Socket) => {
    const ip = (socket.remoteAddress ?? 'unknown').replace(/^::ffff:/, '');
    const release = opts.admit(ip);
    if (!release) {
      opts.log.warn({ protocol: opts.name, ip }, 'connection refused: too many connections');
      socket.destroy();
      return;
    }
    const gone = connectionOpened('http');
    socket.once('close', () => {
      release();
      gone();
    });
  });
  if (opts.tls) {
    // A failed handshake (plain HTTP on the TLS port, TLS 1.1) is the client's problem; the socket goes.
    server.on('tlsClientError', (err: Error, socket: Socket) => {
      opts.log.debug({ protocol: opts.name, err: err.message }, 'TLS handshake failed');
      socket.destroy();
    });
  }
  return server;
}
