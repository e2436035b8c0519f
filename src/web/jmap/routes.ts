/**
 * JMAP over HTTP (RFC 8620): the session resource at /.well-known/jmap and
 * /jmap/session (§2), the API endpoint (§3), a bearer token for clients that
 * sign in once (POST /jmap/token with Basic credentials), and the blob and
 * push endpoints as they are added. Every route but the token one accepts
 * either credential (auth.ts).
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { MailDomain } from '../../domain/mail-domain.js';
import type { Account } from '../../store/types.js';
import { BASIC_CHALLENGE, type HttpAuthenticator } from '../auth.js';
import { type JmapContext, type MethodSpec, parseRequest, RequestProblem, runMethodCalls } from './api.js';
import { CORE, CORE_LIMITS, MAIL } from './capabilities.js';
import { coreMethods } from './core.js';
import { jmapAccountId } from './ids.js';
import { mailboxMethods } from './mailbox.js';
import { emailMethods } from './email.js';
import { emailSetMethods } from './email-set.js';
import { parseBlobId } from './email-model.js';
import { decodedContent, partById } from './email-parts.js';
import { MAX_STREAMS_PER_ACCOUNT, parsePushRequest, type PushRequest, PushStreams, servePush } from './push.js';
import { securityHeaders } from '../security.js';
import { importMethod, UploadTooLarge, Uploads } from './upload.js';

export interface JmapRouteOptions {
  domain: MailDomain;
  auth: HttpAuthenticator;
  tls: boolean;
  maxRequestBytes: number;
  maxUploadBytes: number;
}


export function registerJmap(app: FastifyInstance, opts: JmapRouteOptions): void {
  const uploads = new Uploads(opts.domain);
  const methods: ReadonlyMap<string, MethodSpec> = new Map(
    Object.entries({ ...coreMethods, ...mailboxMethods, ...emailMethods, ...emailSetMethods, ...importMethod(uploads) }),
  );
  /** The signed-in account, or the reply already sent (401 with a challenge, 403, 429, 503). */
  async function signedIn(request: FastifyRequest, reply: FastifyReply): Promise<Account | null> {
    const result = await opts.auth.authenticate(request.headers.authorization, request.socket.remoteAddress ?? '');
    if (result.ok) return result.account;
    if (result.status === 401) void reply.header('www-authenticate', BASIC_CHALLENGE);
    if (result.status === 429 || result.status === 503) void reply.header('retry-after', '60');
    await problem(reply, result.status, 'about:blank', result.detail);
    return null;
  }

  /** Per-account requests in flight (maxConcurrentRequests): one account cannot occupy the node. */
  const inFlight = new Map<number, number>();

  const sessionResource = async (request: FastifyRequest, reply: FastifyReply) => {
    const account = await signedIn(request, reply);
    if (!account) return reply;
    return reply.header('cache-control', 'no-cache, no-store').send(sessionOf(account, baseUrl(request, opts.tls), opts));
  };
  // RFC 8620 §2.2: the well-known URL serves the session resource itself (no redirect, so no credential forwarding).
  app.get('/.well-known/jmap', sessionResource);
  app.get('/jmap/session', sessionResource);

  app.post('/jmap/token', async (request, reply) => {
    const header = request.headers.authorization;
    if (!header || !/^basic /i.test(header)) {
      void reply.header('www-authenticate', BASIC_CHALLENGE);
      return problem(reply, 401, 'about:blank', 'Sign in with Basic credentials');
    }
    const account = await signedIn(request, reply);
    if (!account) return reply;
    const { token, expiresInSeconds } = opts.auth.issueToken(account);
    // RFC 6749 §5.1 shape, so OAuth-minded clients read it; never cached.
    return reply.header('cache-control', 'no-store').send({ access_token: token, token_type: 'Bearer', expires_in: expiresInSeconds });
  });

  app.get<{ Params: { accountId: string; blobId: string; name: string }; Querystring: { type?: string } }>(
    '/jmap/download/:accountId/:blobId/:name',
    async (request, reply) => {
      const account = await signedIn(request, reply);
      if (!account) return reply;
      const { accountId, blobId, name } = request.params;
      const blob = parseBlobId(blobId);
      const rows = blob && accountId === jmapAccountId(account.id) ? await opts.domain.messagesByEmailId(account.id, [blob.emailId]) : [];
      const message = rows[0]?.message;
      if (!blob || !message) return problem(reply, 404, 'about:blank', 'No such blob');
      // RFC 8620 §6.2: the type the client asks for; anything not a plain media type is served as bytes.
      const type = /^[A-Za-z0-9][\w.+-]{0,126}\/[A-Za-z0-9][\w.+-]{0,126}$/.test(request.query.type ?? '') ? request.query.type! : 'application/octet-stream';
      // Always an attachment: a blob is mail content, and an HTML part must never render in our origin.
      void reply
        .type(type)
        .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(name.slice(0, 255))}`)
        .header('cache-control', 'private, immutable, max-age=31536000');
      if (blob.partId === null) {
        const body = await opts.domain.openBody(message);
        if (!body) return problem(reply, 404, 'about:blank', 'No such blob');
        return reply.header('content-length', String(message.size)).send(body);
      }
      const loaded = await opts.domain.loadMessage(message);
      const part = loaded ? partById(loaded.structure, blob.partId) : null;
      if (!loaded || !part) return problem(reply, 404, 'about:blank', 'No such blob');
      return reply.send(decodedContent(loaded.raw, part));
    },
  );

  const streams = new PushStreams();
  // Shutdown: push streams never end by themselves, so they are ended before the listener waits for its requests.
  app.addHook('preClose', async () => streams.endAll());
  app.addHook('onClose', async () => uploads.releaseAll());
  const uploading = new Map<number, number>();
  app.register(async (upload) => {
    // The body is handed on as the request stream: it goes to the blob store as it arrives, never held whole.
    upload.removeAllContentTypeParsers();
    upload.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    upload.post<{ Params: { accountId: string } }>('/jmap/upload/:accountId/', async (request, reply) => {
      const account = await signedIn(request, reply);
      if (!account) return reply;
      const accountId = jmapAccountId(account.id);
      if (request.params.accountId !== accountId) return problem(reply, 404, 'about:blank', 'No such account');
      if (Number(request.headers['content-length'] ?? 0) > opts.maxUploadBytes) {
        return problem(reply, 413, 'urn:ietf:params:jmap:error:limit', 'The blob is too large', { limit: 'maxSizeUpload' });
      }
      const running = uploading.get(account.id) ?? 0;
      if (running >= CORE_LIMITS.maxConcurrentUpload) {
        return problem(reply, 429, 'urn:ietf:params:jmap:error:limit', 'Too many concurrent uploads', { limit: 'maxConcurrentUpload' });
      }
      uploading.set(account.id, running + 1);
      const type = (request.headers['content-type'] ?? 'application/octet-stream').slice(0, 255);
      try {
        const stream = (request.body ?? request.raw) as AsyncIterable<Buffer>;
        const { blobId, size } = await uploads.add(account.id, stream, type, opts.maxUploadBytes);
        return await reply.code(201).send({ accountId, blobId, type, size });
      } catch (err) {
        if (err instanceof UploadTooLarge) return problem(reply, 413, 'urn:ietf:params:jmap:error:limit', 'The blob is too large', { limit: 'maxSizeUpload' });
        throw err;
      } finally {
        const left = (uploading.get(account.id) ?? 1) - 1;
        if (left <= 0) uploading.delete(account.id);
        else uploading.set(account.id, left);
      }
    });
  });
  app.get<{ Querystring: Partial<PushRequest> }>('/jmap/eventsource', async (request, reply) => {
    const account = await signedIn(request, reply);
    if (!account) return reply;
    const parsed = parsePushRequest(request.query);
    if (typeof parsed === 'string') return problem(reply, 400, 'about:blank', parsed);
    if (streams.count(account.id) >= MAX_STREAMS_PER_ACCOUNT) return problem(reply, 429, 'about:blank', 'Too many push streams');
    reply.hijack();
    reply.raw.writeHead(200, {
      ...securityHeaders(opts.tls),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-store',
      // Proxies that buffer (nginx) would hold the events back.
      'x-accel-buffering': 'no',
      // The stream is the connection's last response: when it ends (shutdown), the socket goes too.
      connection: 'close',
    });
    reply.raw.flushHeaders();
    servePush(reply.raw, { domain: opts.domain, account, ...parsed, streams, log: request.log }).catch((err: unknown) => {
      request.log.warn({ err }, 'push stream failed');
      reply.raw.end();
    });
  });

  app.register(async (api) => {
    // The body is parsed here, so that malformed JSON is answered as RFC 8620 §3.6.1 says, not by fastify.
    api.removeAllContentTypeParsers();
    api.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: opts.maxRequestBytes }, (_request, body, done) => done(null, body));
    // Signed in before the body is read: a stranger cannot make us buffer maxSizeRequest octets.
    const accounts = new WeakMap<FastifyRequest, Account>();
    api.addHook('onRequest', async (request, reply) => {
      const account = await signedIn(request, reply);
      if (!account) return reply;
      accounts.set(request, account);
    });
    api.post('/jmap/api', async (request, reply) => {
      const account = accounts.get(request)!;
      const running = inFlight.get(account.id) ?? 0;
      if (running >= CORE_LIMITS.maxConcurrentRequests) {
        return problem(reply, 429, 'urn:ietf:params:jmap:error:limit', 'Too many concurrent requests', { limit: 'maxConcurrentRequests' });
      }
      inFlight.set(account.id, running + 1);
      try {
        let body: unknown;
        try {
          body = JSON.parse((request.body as Buffer | undefined)?.toString('utf8') ?? '');
        } catch {
          return await problem(reply, 400, 'urn:ietf:params:jmap:error:notJSON', 'The request body is not JSON');
        }
        const parsed = parseRequest(body);
        const ctx: JmapContext = {
          domain: opts.domain,
          account,
          accountId: jmapAccountId(account.id),
          createdIds: new Map(Object.entries(parsed.createdIds ?? {})),
          sessionState: sessionStateOf(account),
        };
        const methodResponses = await runMethodCalls(methods, parsed.using, parsed.methodCalls, ctx, (err, method) =>
          request.log.error({ err, method }, 'jmap method failed'),
        );
        return await reply.send({
          methodResponses,
          ...(parsed.createdIds ? { createdIds: Object.fromEntries(ctx.createdIds) } : {}),
          sessionState: ctx.sessionState,
        });
      } catch (err) {
        if (err instanceof RequestProblem) return problem(reply, err.status, err.type, err.message, err.extra);
        throw err;
      } finally {
        const left = (inFlight.get(account.id) ?? 1) - 1;
        if (left <= 0) inFlight.delete(account.id);
        else inFlight.set(account.id, left);
      }
    });
  });
}

/** RFC 7807 problem details, the shape RFC 8620 §3.6.1 uses for request-level errors. */
function problem(reply: FastifyReply, status: number, type: string, detail: string, extra: Record<string, unknown> = {}): FastifyReply {
  return reply.code(status).type('application/problem+json').send({ type, status, detail, ...extra });
}

/**
 * The URL prefix clients are told to use: the Host they reached us by. Clients
 * resolve the templates as absolute URLs. A Host that is not a plain host[:port]
 * falls back to the listener's own address.
 */
function baseUrl(request: FastifyRequest, tls: boolean): string {
  const host = request.headers.host ?? '';
  const local = request.socket.localAddress;
  const fallback = `${!local ? 'localhost' : local.includes(':') ? `[${local}]` : local}:${request.socket.localPort ?? (tls ? 443 : 80)}`;
  const safe = /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](:\d{1,5})?$/.test(host) ? host : fallback;
  return `${tls ? 'https' : 'http'}://${safe}`;
}

function sessionStateOf(account: Account): string {
  return createHash('sha256').update(`${account.id}\0${account.address}\0v1`).digest('base64url').slice(0, 16);
}

function sessionOf(account: Account, base: string, opts: JmapRouteOptions): Record<string, unknown> {
  const accountId = jmapAccountId(account.id);
  return {
    capabilities: {
      [CORE]: {
        maxSizeUpload: opts.maxUploadBytes,
        maxSizeRequest: opts.maxRequestBytes,
        ...CORE_LIMITS,
      },
      [MAIL]: {},
    },
    accounts: {
      [accountId]: {
        name: account.address,
        isPersonal: true,
        isReadOnly: false,
        accountCapabilities: {
          [MAIL]: {
            maxMailboxesPerEmail: null,
            maxMailboxDepth: null,
            maxSizeMailboxName: 255,
            maxSizeAttachmentsPerEmail: opts.maxUploadBytes,
            emailQuerySortOptions: ['receivedAt'],
            mayCreateTopLevelMailbox: true,
          },
        },
      },
    },
    primaryAccounts: { [MAIL]: accountId },
    username: account.address,
    apiUrl: `${base}/jmap/api`,
    downloadUrl: `${base}/jmap/download/{accountId}/{blobId}/{name}?type={type}`,
    uploadUrl: `${base}/jmap/upload/{accountId}/`,
    eventSourceUrl: `${base}/jmap/eventsource?types={types}&closeafter={closeafter}&ping={ping}`,
    state: sessionStateOf(account),
  };
}
