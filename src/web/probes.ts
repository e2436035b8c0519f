/**
 * GET /healthz for load balancers and GET /metrics for Prometheus.
 *
 * /healthz answers 200 when the store answers a read within a few seconds and
 * 503 otherwise (PostgreSQL unreachable, the store closing): a balancer then
 * sends clients to another node. It needs no credentials and says nothing
 * more than "ok" or "unavailable".
 *
 * /metrics tells an outsider how busy the server is and how many logins fail,
 * so it is not public: loopback clients may read it, others only with
 * `Authorization: Bearer <http.metricsToken>` when that is configured.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { MailDomain } from '../domain/mail-domain.js';
import { exposition, expositionContentType } from '../observability/metrics.js';
import { isLoopbackAddress } from './security.js';

/** A store that has not answered by then counts as down (a balancer's probe typically times out at 5 s). */
const HEALTH_TIMEOUT_MS = 3000;

export function registerProbes(app: FastifyInstance, opts: { domain: MailDomain; metricsToken?: string }): void {
  app.get('/healthz', async (_request, reply) => {
    void reply.header('cache-control', 'no-store').type('text/plain; charset=utf-8');
    const healthy = await withTimeout(opts.domain.checkStore(), HEALTH_TIMEOUT_MS).then(
      () => true,
      () => false,
    );
    if (!healthy) app.log.warn('health check: the store did not answer');
    return reply.code(healthy ? 200 : 503).send(healthy ? 'ok\n' : 'unavailable\n');
  });

  const tokenDigest = opts.metricsToken ? digest(opts.metricsToken) : null;
  app.get('/metrics', async (request, reply) => {
    void reply.header('cache-control', 'no-store');
    if (!isLoopbackAddress(request.socket.remoteAddress ?? '') && !bearerMatches(request.headers.authorization, tokenDigest)) {
      return reply.code(403).type('text/plain; charset=utf-8').send('forbidden\n');
    }
    return reply.type(expositionContentType).send(await exposition());
  });
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Compared as digests, in constant time, so the token's length and bytes do not leak through timing. */
function bearerMatches(header: string | undefined, expected: Buffer | null): boolean {
  if (!expected || !header || !/^bearer /i.test(header)) return false;
  return timingSafeEqual(digest(header.slice(7).trim()), expected);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
