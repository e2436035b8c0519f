/**
 * The web application on an in-memory store, without a socket: tests call
 * fastify's inject() (light-my-request) and choose the client address.
 */
import type { FastifyInstance } from 'fastify';
import { MailDomain } from '../../src/domain/mail-domain.js';
import { LocalBus } from '../../src/notify/bus.js';
import { silentLogger } from '../../src/observability/log.js';
import { openSqliteStore } from '../../src/store/index.js';
import { buildWebApp, type WebSettings } from '../../src/web/server.js';

export const ALICE = 'alice@example.com';
export const PASSWORD = 'correct horse battery';

export interface WebHarness {
  app: FastifyInstance;
  domain: MailDomain;
  /** "Basic ..." for alice. */
  basic: string;
  close(): Promise<void>;
}

export async function webHarness(opts: { tls?: boolean; settings?: Partial<WebSettings> } = {}): Promise<WebHarness> {
  const store = await openSqliteStore(':memory:');
  const domain = new MailDomain(store, new LocalBus());
  await domain.createAccount(ALICE, PASSWORD);
  const app = buildWebApp({
    name: opts.tls ? 'https' : 'http',
    address: { host: '127.0.0.1', port: 0 },
    // inject() never handshakes: the https server needs no certificate here.
    tls: opts.tls ? {} : null,
    domain,
    settings: {
      maxRequestBytes: 100_000,
      headersTimeoutSeconds: 30,
      requestTimeoutSeconds: 300,
      keepAliveSeconds: 60,
      tokenLifetimeSeconds: 3600,
      maxMessageBytes: 1_000_000,
      allowCleartextAuthFromLoopback: true,
      authFailureDelayMs: 0,
      ...opts.settings,
    },
    admit: () => () => {},
    log: silentLogger(),
  });
  await app.ready();
  let closed = false;
  return {
    app,
    domain,
    basic: `Basic ${Buffer.from(`${ALICE}:${PASSWORD}`).toString('base64')}`,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await store.close().catch(() => {});
    },
  };
}

const USING = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'];

/** One JMAP method call as alice; a method-level error is thrown with its type as the message. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function jmapCall(h: WebHarness, method: string, args: Record<string, unknown>): Promise<Record<string, any>> {
  const r = await h.app.inject({
    method: 'POST',
    url: '/jmap/api',
    headers: { authorization: h.basic, 'content-type': 'application/json' },
    payload: JSON.stringify({ using: USING, methodCalls: [[method, args, '0']] }),
  });
  const [[name, result]] = r.json().methodResponses;
  if (name === 'error') throw Object.assign(new Error(result.type), result);
  return result;
}

/** Alice's JMAP account id, from the session resource. */
export async function jmapAccountIdOf(h: WebHarness): Promise<string> {
  const session = (await h.app.inject({ url: '/jmap/session', headers: { authorization: h.basic } })).json();
  return session.primaryAccounts['urn:ietf:params:jmap:mail'];
}
