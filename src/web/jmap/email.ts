/**
 * Email/get, Email/query, Email/changes and Thread/get (RFC 8621 §3, §4)
 * over the stored messages (email-model.ts says how they map).
 */
import { headerFields } from '../../mail/headers.js';
import { casemap, streamedBodyTextIncludes, type MessageSummary } from '../../mail/index.js';
import type { Mailbox, MessageMeta } from '../../store/types.js';
import type { JmapArgs, JmapContext, MethodSpec } from './api.js';
import { idsArg, integerArg, isPlainObject, propertiesArg, requireAccount, unsignedArg } from './args.js';
import { MAIL } from './capabilities.js';
import { MethodError } from './errors.js';
import {
  addressesOf,
  type BodyPart,
  dateOf,
  emailBody,
  messageIdsOf,
  textOf,
  textValue,
  topFields,
  utcDate,
} from './email-parts.js';
import {
  byEmailId,
  emailIdOfThread,
  emailStateOf,
  type EmailRow,
  keywordsOf,
  messageBlobIdOf,
  parseEmailState,
  threadIdOf,
} from './email-model.js';

/** Properties answered from the message row and its stored summary alone: no message bytes are read. */
const META_PROPERTIES = ['id', 'blobId', 'threadId', 'mailboxIds', 'keywords', 'size', 'receivedAt', 'preview'];
const HEADER_PROPERTIES = ['messageId', 'inReplyTo', 'references', 'sender', 'from', 'to', 'cc', 'bcc', 'replyTo', 'subject', 'sentAt'];
const BODY_PROPERTIES = ['bodyStructure', 'bodyValues', 'textBody', 'htmlBody', 'attachments', 'hasAttachment'];
const PROPERTIES = [...META_PROPERTIES, ...HEADER_PROPERTIES, ...BODY_PROPERTIES];
/** RFC 8621 §4.2: the default properties leave bodyStructure out. */
const DEFAULT_PROPERTIES = PROPERTIES.filter((p) => p !== 'bodyStructure');
const BODY_PART_PROPERTIES = ['partId', 'blobId', 'size', 'name', 'type', 'charset', 'disposition', 'cid', 'language', 'location', 'subParts'];
const DEFAULT_BODY_PART_PROPERTIES = BODY_PART_PROPERTIES.filter((p) => p !== 'subParts');

/** Email/query pages: the most ids in one answer (RFC 8620 §5.5 lets the server cap `limit`). */
const MAX_QUERY_LIMIT = 1000;

interface MailboxIndex {
  list: Mailbox[];
  byId: Map<number, Mailbox>;
  byObjectId: Map<string, Mailbox>;
  state: string;
}

export async function mailboxIndex(ctx: JmapContext): Promise<MailboxIndex> {
  const list = await ctx.domain.listMailboxes(ctx.account.id);
  return {
    list,
    byId: new Map(list.map((m) => [m.id, m])),
    byObjectId: new Map(list.map((m) => [m.objectId, m])),
    state: emailStateOf(list),
  };
}

function bodyPartView(part: BodyPart, properties: Set<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of properties) {
    if (p === 'subParts') {
      if (part.subParts) out.subParts = part.subParts.map((s) => bodyPartView(s, properties));
    } else {
      out[p] = part[p as keyof BodyPart] ?? null;
    }
  }
  return out;
}

async function emailGet(args: JmapArgs, ctx: JmapContext): Promise<JmapArgs> {
  requireAccount(args, ctx);
  const ids = idsArg(args, ctx);
  if (ids === null) throw new MethodError('requestTooLarge', 'Email/get needs ids (use Email/query)');
  const properties = propertiesArg(args, PROPERTIES, DEFAULT_PROPERTIES);
  const partProperties = propertiesArg(args, BODY_PART_PROPERTIES, DEFAULT_BODY_PART_PROPERTIES, 'bodyProperties');
  partProperties.delete('id');
  const maxBodyValueBytes = unsignedArg(args, 'maxBodyValueBytes', 0)!;
  const fetchAll = args.fetchAllBodyValues === true;
  const fetchText = fetchAll || args.fetchTextBodyValues === true;
  const fetchHtml = fetchAll || args.fetchHTMLBodyValues === true;
  const index = await mailboxIndex(ctx);
  const grouped = byEmailId(await ctx.domain.messagesByEmailId(ctx.account.id, [...new Set(ids)]));
  const firsts = [...grouped.values()].map((rows) => rows[0]!.message);
  const summaries: Map<string, MessageSummary> = properties.has('preview') ? await ctx.domain.messageSummaries(firsts) : new Map();
  const needsBytes = [...properties].some((p) => !META_PROPERTIES.includes(p));
  const list: Record<string, unknown>[] = [];
  const notFound: string[] = [];
  for (const id of ids) {
    const rows = grouped.get(id);
    if (!rows) {
      notFound.push(id);
      continue;
    }
    const first = rows[0]!.message;
    const email: Record<string, unknown> = {
      id,
      blobId: messageBlobIdOf(id),
      threadId: threadIdOf(id),
      mailboxIds: Object.fromEntries(rows.flatMap((r) => (index.byId.has(r.mailboxId) ? [[index.byId.get(r.mailboxId)!.objectId, true]] : []))),
      keywords: keywordsOf(first.flags),
      size: first.size,
      receivedAt: utcDate(first.internalDate),
      preview: summaries.get(first.blobId)?.preview ?? '',
    };
    if (needsBytes) {
      // One message at a time: memory is bounded by the largest message, not the request.
      const loaded = await ctx.domain.loadMessage(first);
      if (!loaded) {
        notFound.push(id); // expunged while we read
        continue;
      }
      const { raw, structure } = loaded;
      const fields = topFields(raw, structure);
      Object.assign(email, {
        messageId: messageIdsOf(raw, fields, 'Message-ID'),
        inReplyTo: messageIdsOf(raw, fields, 'In-Reply-To'),
        references: messageIdsOf(raw, fields, 'References'),
        sender: addressesOf(raw, fields, 'Sender'),
        from: addressesOf(raw, fields, 'From'),
        to: addressesOf(raw, fields, 'To'),
        cc: addressesOf(raw, fields, 'Cc'),
        bcc: addressesOf(raw, fields, 'Bcc'),
        replyTo: addressesOf(raw, fields, 'Reply-To'),
        subject: textOf(raw, fields, 'Subject'),
        sentAt: dateOf(raw, fields, 'Date'),
      });
      if ([...properties].some((p) => BODY_PROPERTIES.includes(p))) {
        const body = emailBody(raw, structure, messageBlobIdOf(id));
        const bodyValues: Record<string, unknown> = {};
        const wanted = [...(fetchText ? body.textBody : []), ...(fetchHtml ? body.htmlBody : [])];
        for (const part of wanted) {
          const mime = part.partId ? body.parts.get(part.partId) : undefined;
          if (!mime || !part.type.startsWith('text/') || bodyValues[part.partId!]) continue;
          bodyValues[part.partId!] = { ...textValue(raw, part, mime, maxBodyValueBytes), isEncodingProblem: false };
        }
        Object.assign(email, {
          bodyStructure: bodyPartView(body.bodyStructure, new Set([...partProperties, 'subParts'])),
          textBody: body.textBody.map((p) => bodyPartView(p, partProperties)),
          htmlBody: body.htmlBody.map((p) => bodyPartView(p, partProperties)),
          attachments: body.attachments.map((p) => bodyPartView(p, partProperties)),
          hasAttachment: body.attachments.length > 0,
          bodyValues,
        });
      }
    }
    const view: Record<string, unknown> = {};
    for (const p of properties) view[p] = email[p] ?? null;
    list.push(view);
  }
  return { accountId: ctx.accountId, state: index.state, list, notFound };
}

// ----------------------------------------------------------------- query

type Filter = Record<string, unknown>;
const CONDITIONS = ['inMailbox', 'inMailboxOtherThan', 'text', 'from', 'to', 'cc', 'subject', 'hasKeyword', 'notKeyword', 'before', 'after'];

function checkFilter(filter: unknown, depth = 0): void {
  if (!isPlainObject(filter) || depth > 10) throw new MethodError('invalidArguments', 'filter must be an object');
  if ('operator' in filter) {
    if (!['AND', 'OR', 'NOT'].includes(filter.operator as string) || !Array.isArray(filter.conditions)) {
      throw new MethodError('unsupportedFilter', 'operator must be AND, OR or NOT with conditions');
    }
    for (const c of filter.conditions) checkFilter(c, depth + 1);
    return;
  }
  for (const key of Object.keys(filter)) if (!CONDITIONS.includes(key)) throw new MethodError('unsupportedFilter', `Unsupported filter: ${key.slice(0, 100)}`);
}

/** What a filter needs to read of a message: its header, or its text too. */
function needs(filter: Filter): { header: boolean; text: boolean } {
  if (Array.isArray(filter.conditions)) {
    return (filter.conditions as Filter[]).map(needs).reduce((a, b) => ({ header: a.header || b.header, text: a.text || b.text }), { header: false, text: false });
  }
  return { header: ['from', 'to', 'cc', 'subject', 'text'].some((k) => k in filter), text: 'text' in filter };
}

interface Candidate {
  row: EmailRow;
  mailboxIds: Set<number>;
  header?: string;
  raw?: Buffer;
  textOf?: () => boolean;
}

function matches(c: Candidate, filter: Filter, index: MailboxIndex): boolean {
  if (typeof filter.operator === 'string') {
    const conditions = filter.conditions as Filter[];
    if (filter.operator === 'AND') return conditions.every((f) => matches(c, f, index));
    if (filter.operator === 'OR') return conditions.some((f) => matches(c, f, index));
    return !conditions.some((f) => matches(c, f, index));
  }
  const m = c.row.message;
  const keywords = () => keywordsOf(m.flags);
  // A substring search per field line: no pattern built from the client's text, linear in the header.
  const headerHas = (field: string, value: unknown) => {
    if (typeof value !== 'string') return false;
    const needle = casemap(value);
    const prefix = `${field}:`;
    return (c.header ?? '').split('\n').some((line) => line.startsWith(prefix) && line.includes(needle, prefix.length));
  };
  for (const [key, value] of Object.entries(filter)) {
    const ok = (() => {
      switch (key) {
        case 'inMailbox':
          return c.mailboxIds.has(index.byObjectId.get(value as string)?.id ?? -1);
        case 'inMailboxOtherThan':
          return Array.isArray(value) && [...c.mailboxIds].some((id) => !(value as string[]).includes(index.byId.get(id)?.objectId ?? ''));
        case 'hasKeyword':
          return typeof value === 'string' && keywords()[value.toLowerCase()] === true;
        case 'notKeyword':
          return typeof value === 'string' && keywords()[value.toLowerCase()] !== true;
        case 'before':
          return typeof value === 'string' && m.internalDate.getTime() < Date.parse(value);
        case 'after':
          return typeof value === 'string' && m.internalDate.getTime() >= Date.parse(value);
        case 'from':
        case 'to':
        case 'cc':
        case 'subject':
          return headerHas(key, value);
        case 'text':
          return typeof value === 'string' && ((c.header ?? '').includes(casemap(value)) || (c.textOf?.() ?? false));
        default:
          return false;
      }
    })();
    if (!ok) return false;
  }
  return true;
}

async function emailQuery(args: JmapArgs, ctx: JmapContext): Promise<JmapArgs> {
  requireAccount(args, ctx);
  const filter = args.filter === undefined || args.filter === null ? null : (args.filter as Filter);
  if (filter) checkFilter(filter);
  const sort = args.sort === undefined || args.sort === null ? [] : args.sort;
  if (!Array.isArray(sort) || sort.length > 1 || sort.some((s) => !isPlainObject(s) || s.property !== 'receivedAt')) {
    throw new MethodError('unsupportedSort', 'Emails sort by receivedAt');
  }
  const newestFirst = (sort[0] as { isAscending?: unknown } | undefined)?.isAscending !== true;
  let position = integerArg(args, 'position', 0);
  const askedLimit = unsignedArg(args, 'limit', null);
  const limit = Math.min(askedLimit ?? MAX_QUERY_LIMIT, MAX_QUERY_LIMIT);
  const anchor = typeof args.anchor === 'string' ? args.anchor : null;
  const index = await mailboxIndex(ctx);
  const answer = (ids: string[], total: number) => ({
    accountId: ctx.accountId,
    queryState: index.state,
    canCalculateChanges: false,
    position,
    ids,
    ...(args.calculateTotal === true ? { total } : {}),
    ...(askedLimit === null || askedLimit > MAX_QUERY_LIMIT ? { limit } : {}),
  });

  // The common case, a folder listing: one indexed page of the mailbox, whatever its size.
  const only = filter && Object.keys(filter).length === 1 && typeof filter.inMailbox === 'string' ? filter.inMailbox : null;
  if (only !== null && anchor === null) {
    const mailbox = index.byObjectId.get(only);
    if (!mailbox) return answer([], 0);
    const total = mailbox.messageCount;
    if (position < 0) position = Math.max(0, total + position);
    const page = await ctx.domain.messagesPage(mailbox, position, limit, newestFirst);
    return answer([...new Set(page.map((m) => m.emailId))], total);
  }

  const found = await filtered(ctx, index, filter);
  found.sort((a, b) => {
    const d = a.internalDate.getTime() - b.internalDate.getTime() || a.uid - b.uid;
    return newestFirst ? -d : d;
  });
  const ids = found.map((m) => m.emailId);
  if (anchor !== null) {
    const at = ids.indexOf(anchor);
    if (at < 0) throw new MethodError('anchorNotFound');
    position = Math.max(0, at + integerArg(args, 'anchorOffset', 0));
  } else if (position < 0) {
    position = Math.max(0, ids.length + position);
  }
  return answer(ids.slice(position, position + limit), ids.length);
}

/** The Emails matching a filter (one message row each), read mailbox by mailbox. */
async function filtered(ctx: JmapContext, index: MailboxIndex, filter: Filter | null): Promise<MessageMeta[]> {
  const inMailbox = filter && typeof filter.inMailbox === 'string' ? index.byObjectId.get(filter.inMailbox) : undefined;
  if (filter && typeof filter.inMailbox === 'string' && !inMailbox) return [];
  const mailboxes = inMailbox ? [inMailbox] : index.list;
  // Every row of an Email is needed for inMailbox inside operators and inMailboxOtherThan.
  const rows: EmailRow[] = [];
  for (const mailbox of mailboxes) for (const message of await ctx.domain.listMessages(mailbox)) rows.push({ mailboxId: mailbox.id, message });
  const grouped = byEmailId(rows);
  const need = filter ? needs(filter) : { header: false, text: false };
  const out: MessageMeta[] = [];
  const summaries: Map<string, MessageSummary> = need.header ? await ctx.domain.messageSummaries(rows.map((r) => r.message)) : new Map();
  for (const group of grouped.values()) {
    const row = group[0]!;
    const candidate: Candidate = { row, mailboxIds: new Set(group.map((r) => r.mailboxId)) };
    if (need.header) {
      // Header octets only (the structure says where they end); the text is read only for "text".
      const structure = summaries.get(row.message.blobId)?.structure;
      const header = structure ? await ctx.domain.readBodyRange(row.message, 0, structure.headerLength) : null;
      candidate.header = header ? decodedHeaderText(header) : '';
      if (need.text && structure) {
        // The body text is read as a stream (never the whole message), compared as IMAP SEARCH TEXT does.
        const found = await streamedBodyTextIncludes((start, end) => ctx.domain.openBody(row.message, start, end), structure.root, casemap(String(findText(filter!))));
        candidate.textOf = () => found;
      }
    }
    if (!filter || matches(candidate, filter, index)) out.push(row.message);
  }
  return out;
}

function findText(filter: Filter): unknown {
  if (typeof filter.text === 'string') return filter.text;
  for (const c of (filter.conditions as Filter[] | undefined) ?? []) {
    const t = findText(c);
    if (typeof t === 'string') return t;
  }
  return '';
}

/** The header block unfolded, RFC 2047 words decoded, values under i;unicode-casemap: one line per field (name lower case), for substring matching. */
function decodedHeaderText(header: Buffer): string {
  return headerFields(header, 0, header.length)
    .map((f) => `${f.name.toLowerCase()}:${casemap(textOf(header, [f], f.name) ?? '')}`)
    .join('\n');
}

// --------------------------------------------------------------- changes

async function emailChanges(args: JmapArgs, ctx: JmapContext): Promise<JmapArgs> {
  requireAccount(args, ctx);
  if (typeof args.sinceState !== 'string') throw new MethodError('invalidArguments', 'sinceState is required');
  const maxChanges = unsignedArg(args, 'maxChanges', null);
  const old = parseEmailState(args.sinceState);
  if (!old) throw new MethodError('cannotCalculateChanges');
  const index = await mailboxIndex(ctx);
  // A mailbox deleted since: its messages' ids are not known any more.
  for (const id of old.keys()) if (!index.byId.has(id)) throw new MethodError('cannotCalculateChanges');
  const changedIds = new Set<string>();
  for (const mailbox of index.list) {
    const mark = old.get(mailbox.id) ?? { modSeq: 0, uidNext: 1 };
    if (mailbox.highestModSeq <= mark.modSeq) continue;
    const changes = await ctx.domain.changesSince(mailbox, mark.modSeq);
    // The change log keeps the UIDs of expunged messages, not their EMAILIDs (docs/jmap.md): start over.
    if (changes.expunged.length > 0) throw new MethodError('cannotCalculateChanges');
    for (const m of changes.changed) changedIds.add(m.emailId);
  }
  if (maxChanges !== null && changedIds.size > maxChanges) throw new MethodError('cannotCalculateChanges');
  const rows = byEmailId(await ctx.domain.messagesByEmailId(ctx.account.id, [...changedIds]));
  const created: string[] = [];
  const updated: string[] = [];
  for (const [emailId, group] of rows) {
    // New when every copy arrived after the old state (its UID is at or above the old UIDNEXT).
    const isNew = group.every((r) => r.message.uid >= (old.get(r.mailboxId)?.uidNext ?? 1));
    (isNew ? created : updated).push(emailId);
  }
  return { accountId: ctx.accountId, oldState: args.sinceState, newState: index.state, hasMoreChanges: false, created, updated, destroyed: [] };
}

// ---------------------------------------------------------------- thread

async function threadGet(args: JmapArgs, ctx: JmapContext): Promise<JmapArgs> {
  requireAccount(args, ctx);
  const ids = idsArg(args, ctx);
  if (ids === null) throw new MethodError('requestTooLarge', 'Thread/get needs ids');
  const emailIds = ids.map(emailIdOfThread).filter((e): e is string => e !== null);
  const found = byEmailId(await ctx.domain.messagesByEmailId(ctx.account.id, emailIds));
  const index = await mailboxIndex(ctx);
  const list = ids.filter((id) => found.has(emailIdOfThread(id) ?? '')).map((id) => ({ id, emailIds: [emailIdOfThread(id)!] }));
  return { accountId: ctx.accountId, state: index.state, list, notFound: ids.filter((id) => !found.has(emailIdOfThread(id) ?? '')) };
}

export const emailMethods: Record<string, MethodSpec> = {
  'Email/get': { capability: MAIL, run: emailGet },
  'Email/query': { capability: MAIL, run: emailQuery },
  'Email/changes': { capability: MAIL, run: emailChanges },
  'Thread/get': { capability: MAIL, run: threadGet },
};
