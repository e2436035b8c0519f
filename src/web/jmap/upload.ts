/**
 * Blob upload (RFC 8620 §6.1) and Email/import (RFC 8621 §4.8).
 *
 * An upload streams into the blob store as it arrives (never held whole) and
 * is kept, staged, for an hour (RFC 8620 §6: "at least 1 hour") or until
 * more than MAX_UPLOADS_PER_ACCOUNT newer ones push it out; then it is
 * released, and a body no message names is removed. Email/import appends it
 * through the same ingest path as IMAP APPEND, so quota, summary and
 * notifications are the same. Uploads live in this node's memory: a client
 * imports through the node it uploaded to (docs/jmap.md).
 */
import { randomBytes } from 'node:crypto';
import type { MailDomain } from '../../domain/mail-domain.js';
import type { StagedBody } from '../../domain/staged-body.js';
import type { AccountId } from '../../store/types.js';
import type { JmapArgs, JmapContext, MethodSpec } from './api.js';
import { isPlainObject, requireAccount, setResponse } from './args.js';
import { CORE_LIMITS, MAIL } from './capabilities.js';
import { MethodError, type SetError, setErrorFor } from './errors.js';
import { flagOfKeyword, threadIdOf, messageBlobIdOf } from './email-model.js';
import { mailboxIndex } from './email.js';

const UPLOAD_LIFETIME_MS = 3600_000;
export const MAX_UPLOADS_PER_ACCOUNT = 100;

interface Upload {
  accountId: AccountId;
  body: StagedBody;
  type: string;
  size: number;
  timer: NodeJS.Timeout;
}

export class UploadTooLarge extends Error {}

export class Uploads {
  private readonly byId = new Map<string, Upload>();

  constructor(private readonly domain: MailDomain) {}

  /** Streams `chunks` into the blob store, refusing more than `maxBytes`; returns the upload's blob id. */
  async add(accountId: AccountId, chunks: AsyncIterable<Buffer>, type: string, maxBytes: number): Promise<{ blobId: string; size: number }> {
    let size = 0;
    async function* bounded(): AsyncIterable<Buffer> {
      for await (const chunk of chunks) {
        size += chunk.length;
        if (size > maxBytes) throw new UploadTooLarge();
        yield chunk;
      }
    }
    // Uploads keep their bytes as sent (RFC 8620 §6.1); Email/import stores them as they are.
    const body = await this.domain.stageBody(bounded(), { crlf: false });
    const blobId = `U${randomBytes(16).toString('hex')}`;
    const timer = setTimeout(() => void this.release(blobId), UPLOAD_LIFETIME_MS);
    timer.unref();
    this.byId.set(blobId, { accountId, body, type, size, timer });
    const mine = [...this.byId].filter(([, u]) => u.accountId === accountId);
    if (mine.length > MAX_UPLOADS_PER_ACCOUNT) await this.release(mine[0]![0]);
    return { blobId, size };
  }

  get(accountId: AccountId, blobId: string): Upload | null {
    const upload = this.byId.get(blobId);
    return upload && upload.accountId === accountId ? upload : null;
  }

  async release(blobId: string): Promise<void> {
    const upload = this.byId.get(blobId);
    if (!upload) return;
    this.byId.delete(blobId);
    clearTimeout(upload.timer);
    await this.domain.releaseBodies([upload.body]);
  }

  /** At shutdown: every staged upload is handed back (an unreleased one would wait for startup recovery). */
  async releaseAll(): Promise<void> {
    for (const id of [...this.byId.keys()]) await this.release(id);
  }
}

/** Email/import over the node's uploads. */
export function importMethod(uploads: Uploads): Record<string, MethodSpec> {
  return { 'Email/import': { capability: MAIL, run: (args, ctx) => emailImport(uploads, args, ctx) } };
}

async function emailImport(uploads: Uploads, args: JmapArgs, ctx: JmapContext): Promise<JmapArgs> {
  requireAccount(args, ctx);
  const emails = args.emails;
  if (!isPlainObject(emails) || !Object.values(emails).every(isPlainObject)) throw new MethodError('invalidArguments', 'emails must map creation ids to objects');
  if (Object.keys(emails).length > CORE_LIMITS.maxObjectsInSet) throw new MethodError('requestTooLarge');
  const before = await mailboxIndex(ctx);
  if (typeof args.ifInState === 'string' && args.ifInState !== before.state) throw new MethodError('stateMismatch');
  const created: Record<string, unknown> = {};
  const notCreated: Record<string, SetError> = {};
  for (const [creationId, email] of Object.entries(emails as Record<string, Record<string, unknown>>)) {
    const upload = typeof email.blobId === 'string' ? uploads.get(ctx.account.id, email.blobId) : null;
    if (!upload) {
      notCreated[creationId] = { type: 'blobNotFound', properties: ['blobId'] };
      continue;
    }
    const mailboxes = isPlainObject(email.mailboxIds) ? Object.keys(email.mailboxIds).map((id) => before.byObjectId.get(id)) : [];
    if (mailboxes.length === 0 || mailboxes.some((m) => !m)) {
      notCreated[creationId] = { type: 'invalidProperties', properties: ['mailboxIds'] };
      continue;
    }
    const keywords = isPlainObject(email.keywords) ? Object.keys(email.keywords) : [];
    const flags = keywords.map(flagOfKeyword);
    const receivedAt = typeof email.receivedAt === 'string' ? new Date(email.receivedAt) : undefined;
    if (flags.some((f) => f === null) || (receivedAt && Number.isNaN(receivedAt.getTime()))) {
      notCreated[creationId] = { type: 'invalidProperties', properties: flags.some((f) => f === null) ? ['keywords'] : ['receivedAt'] };
      continue;
    }
    try {
      const [first, ...others] = mailboxes as NonNullable<(typeof mailboxes)[number]>[];
      const [result] = await ctx.domain.ingestStaged(first!, [{ body: upload.body, flags: flags as string[], ...(receivedAt ? { internalDate: receivedAt } : {}) }]);
      const [stored] = await ctx.domain.messagesByUid(first!, [result!.uid]);
      for (const other of others) await ctx.domain.copyMessages(first!, [result!.uid], other);
      const id = stored!.emailId;
      ctx.createdIds.set(creationId, id);
      created[creationId] = { id, blobId: messageBlobIdOf(id), threadId: threadIdOf(id), size: stored!.size };
    } catch (err) {
      notCreated[creationId] = setErrorFor(err);
    }
  }
  const after = await mailboxIndex(ctx);
  return setResponse(ctx, before.state, after.state, { created, notCreated });
}
