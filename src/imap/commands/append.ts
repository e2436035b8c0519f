/**
 * APPEND (RFC 9051 §6.3.12) with MULTIAPPEND (RFC 3502) and APPENDUID
 * (RFC 4315). RFC 3502 §3 asks that all messages are stored or none: sizes
 * and flags are checked first, then the whole batch goes to the store in one
 * transaction (MailDomain.ingestMany), which checks the quota for the sum.
 * No other session can see part of it, and a crash keeps all or nothing.
 */
import type { MailDomain } from '../../domain/mail-domain.js';
import { encodeBinaryParts } from '../../mail/binary-append.js';
import { encodeStoredBinaryParts, isFullStructure } from '../../mail/binary-append-stream.js';
import { parseSummary } from '../../mail/index.js';
import { errorCompletion } from '../errors.js';
import { checkClientFlags } from '../../domain/flags.js';
import type { BodyWriter, StagedBody } from '../../domain/staged-body.js';
import type { AppendMessage, ResponseCode } from '../../protocol/imap/types.js';
import type { Mailbox } from '../../store/types.js';
import type { CommandContext, CommandOf, Completion, StreamedLiteral } from '../state.js';
import { accountOf, bad, no, ok } from '../state.js';
import { compactSet } from '../view.js';

/** Bodies of one MULTIAPPEND written to the blob store at once. */
const STAGING_CONCURRENCY = 8;

export async function appendCommand(cmd: CommandOf<'APPEND'>, ctx: CommandContext): Promise<Completion> {
  const result = await appendMessages(cmd.mailbox, cmd.messages, ctx);
  if ('status' in result) return result;
  return ok('APPEND completed', appendUid(result));
}

/** What APPEND (and REPLACE, RFC 8508) stored: the target mailbox and the new UIDs. */
export interface Appended {
  mailbox: Mailbox;
  uidValidity: number;
  uids: number[];
}

/** RFC 4315 §3: [APPENDUID uidvalidity uid-set]. */
export function appendUid(appended: Appended): ResponseCode {
  return { name: 'APPENDUID', value: { atom: `${appended.uidValidity} ${compactSet(appended.uids)}` } };
}

/** Checks, stages and stores the messages in one transaction (all or none); a Completion when refused. */
export async function appendMessages(mailboxArg: string, toAppend: AppendMessage[], ctx: CommandContext): Promise<Appended | Completion> {
  const account = accountOf(ctx);
  const domain = ctx.imap.domain;
  const prepared: Array<{ content: Buffer; streamed: StreamedLiteral | undefined; binary: boolean; flags: string[]; internalDate?: Date }> = [];
  for (const message of toAppend) {
    // A large literal was written to the store as it arrived (the session releases it after the command).
    const streamed = ctx.streamedLiteral?.(message.content);
    if (!streamed && message.content.length > ctx.imap.maxMessageBytes) {
      return no(`Message is larger than ${ctx.imap.maxMessageBytes} bytes`, { name: 'TOOBIG' });
    }
    // RFC 9051 §4.3: a plain literal is CHAR8 (no NUL); binary content comes in a literal8 (RFC 3516 §4.4).
    if (!message.binary && (streamed ? streamed.hasNul : message.content.includes(0))) return unknownCte();
    const flags = checkClientFlags(message.flags);
    if ('error' in flags) return bad(flags.error);
    let content = message.content;
    if (message.binary && !streamed) {
      const converted = encodeBinaryParts(content);
      if (converted.kind === 'nul') return unknownCte();
      content = converted.data;
    }
    prepared.push({ content, streamed, binary: message.binary === true, flags, ...(message.internalDate ? { internalDate: message.internalDate } : {}) });
  }
  // Small literals are staged here (and released here); streamed ones are already in the store.
  const stagedHere: StagedBody[] = [];
  try {
    const mailbox = await domain.getMailbox(account.id, ctx.mailboxName(mailboxArg));
    if (!mailbox) return no('Mailbox does not exist', { name: 'TRYCREATE' });
    // Bodies are staged a few at a time: each waits on its own fsyncs, and a MULTIAPPEND of
    // thousands staged one after another would spend most of its time waiting on the disk.
    const bodies: StagedBody[] = new Array(prepared.length);
    let next = 0;
    let failure: unknown;
    const stageNext = async (): Promise<void> => {
      while (next < prepared.length && failure === undefined) {
        const at = next++;
        const { content, streamed, binary } = prepared[at]!;
        try {
          if (streamed && binary) {
            // A large literal8 was written to the store as it arrived; its binary parts are re-encoded
            // from there into a second body (the session releases the first after the command).
            const original = await streamed.body;
            const body = await stageConverted(domain, original, streamed.hasNul);
            if (body === null) throw new BinaryRefused();
            if (body !== original) stagedHere.push(body);
            bodies[at] = body;
          } else if (streamed) {
            bodies[at] = await streamed.body;
          } else {
            const body = await domain.stageBody([content], { crlf: false });
            stagedHere.push(body);
            bodies[at] = body;
          }
        } catch (err) {
          failure ??= err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(STAGING_CONCURRENCY, prepared.length) }, stageNext));
    if (failure !== undefined) throw failure;
    const messages = prepared.map(({ flags, internalDate }, at) => ({
      body: bodies[at]!,
      flags,
      ...(internalDate ? { internalDate } : {}),
    }));
    const stored = await domain.ingestStaged(mailbox, messages);
    const uidValidity = stored[stored.length - 1]?.uidValidity ?? mailbox.uidValidity;
    return { mailbox, uidValidity, uids: stored.map((r) => r.uid) };
  } catch (err) {
    if (err instanceof BinaryRefused) return unknownCte();
    return errorCompletion(err, ctx.log, { target: true });
  } finally {
    await domain.releaseBodies(stagedHere);
  }
}

/**
 * RFC 3516 §4.4: binary content the server cannot store in a form every client can read is refused with
 * UNKNOWN-CTE; the client can send the part with a content-transfer-encoding instead.
 */
function unknownCte(): Completion {
  return no('Binary content (NUL octets) outside a part that can be re-encoded; send it in a literal8 as a body part', {
    name: 'UNKNOWN-CTE',
  });
}

class BinaryRefused extends Error {}

/**
 * Whole-body conversions (stageConvertedWhole) run one at a time in this process: each holds its body
 * (up to the APPEND limit), so however many sessions need one at once, at most one such body (and its
 * re-encoded copy) is in memory.
 */
let converting: Promise<unknown> = Promise.resolve();
function oneAtATime<T>(work: () => Promise<T>): Promise<T> {
  const run = converting.then(work);
  converting = run.catch(() => {});
  return run;
}

/**
 * A streamed literal8 re-encoded (encodeBinaryParts) into a new staged body, or the same body when nothing
 * needed it; null when NUL octets remain. Read and written as streams (encodeStoredBinaryParts), following
 * the structure its summary holds; only when that summary fell back to one opaque part (its worker failed)
 * is the body read whole.
 */
async function stageConverted(domain: MailDomain, streamed: StagedBody, hasNul: boolean): Promise<StagedBody | null> {
  const ref = { blobId: streamed.staged.blobId, size: streamed.staged.size };
  const structure = parseSummary(streamed.summary)?.structure;
  const header = structure ? await domain.readBodyRange(ref, 0, structure.bodyStart) : null;
  if (!structure || !header || !isFullStructure(structure, header)) return oneAtATime(() => stageConvertedWhole(domain, streamed));
  let writer: BodyWriter | null = null;
  const result = await encodeStoredBinaryParts(
    { structure, hasNul, open: (start, end) => domain.openBody(ref, start, end) },
    (chunk) => (writer ??= domain.openBodyWriter({ crlf: false })).write(chunk),
  ).catch(async (err: unknown) => {
    await (writer as BodyWriter | null)?.abort();
    throw err;
  });
  const written = writer as BodyWriter | null;
  if (result.kind === 'ok' && written) return written.finish();
  await written?.abort();
  return result.kind === 'nul' ? null : streamed;
}

/** stageConverted with the body read whole: for a body whose stored structure cannot be trusted. */
async function stageConvertedWhole(domain: MailDomain, streamed: StagedBody): Promise<StagedBody | null> {
  const raw = await domain.readBody({ blobId: streamed.staged.blobId, size: streamed.staged.size });
  if (!raw) throw new Error('a streamed APPEND body vanished before it was appended');
  const converted = encodeBinaryParts(raw);
  if (converted.kind === 'nul') return null;
  if (converted.converted === 0) return streamed;
  return domain.stageBody([converted.data], { crlf: false });
}
