/**
 * Everything FETCH, SORT and THREAD need about a message, computed once when
 * the message enters the store and kept as JSON beside it: the MIME
 * structure (offsets for BODY[section]), ENVELOPE, BODY and BODYSTRUCTURE
 * ready to send, the PREVIEW text (RFC 8970), the sort keys of RFC 5256 §3 /
 * RFC 5957 and the message ids THREAD=REFERENCES links by.
 */
import libmime from 'libmime';
import { parseAddressList } from './address.js';
import { bodyFromStructure, bodyStructureOf } from './bodystructure.js';
import { parseMailDate } from './date.js';
import { envelopeOf, type ImapLikeValue } from './envelope.js';
import { decodedValue, fieldLatin1, findField, headerFields } from './headers.js';
import { opaqueMessage, parseMessage, type MessageStructure } from './parse.js';
import { previewOf } from './preview.js';
import { baseSubject } from './subject.js';

/** Bumped whenever what is computed changes: older stored summaries are recomputed on first use. */
export const SUMMARY_VERSION = 3;

export interface SortFields {
  /** Date header as ms since the epoch, or null when absent or unreadable (SORT DATE then uses INTERNALDATE). */
  sentDate: number | null;
  /** RFC 5256 §2.1 base subject, lower-cased. */
  subject: string;
  replyOrForward: boolean;
  /** addr-mailbox of the first From / To / Cc address, lower-cased ('' when none). */
  from: string;
  to: string;
  cc: string;
  /** RFC 5957: display name of the first From / To address, else its addr-spec, lower-cased. */
  displayFrom: string;
  displayTo: string;
}

export interface MessageSummary {
  version: typeof SUMMARY_VERSION;
  structure: MessageStructure;
  envelope: ImapLikeValue;
  body: ImapLikeValue;
  bodyStructure: ImapLikeValue;
  preview: string;
  sort: SortFields;
  /** Message-ID, and References (or the first In-Reply-To id when there is none), each "<id>" (RFC 5256 §4 REFERENCES step 1). */
  messageId: string | null;
  references: string[];
}

const MSG_ID = /<[^<>\s]*>/g;

function decodeWords(latin1: string): string {
  const text = Buffer.from(latin1, 'latin1').toString('utf8');
  try {
    return libmime.decodeWords(text);
  } catch {
    return text;
  }
}

function firstAddress(value: string | null): { mailbox: string; display: string } {
  // The first ENVELOPE address, as RFC 5256 §3 reads it: a group's start marker carries the
  // group name as its mailbox (and is its display name), so "To: team: a@x, b@y;" sorts as
  // "team", like Dovecot; a group end marker (no mailbox) is skipped.
  const address = value === null ? undefined : parseAddressList(value).find((a) => a.mailbox !== null);
  if (!address) return { mailbox: '', display: '' };
  if (address.host === null) {
    const group = decodeWords(address.mailbox ?? '').trim().toLowerCase();
    return { mailbox: group, display: group };
  }
  const mailbox = decodeWords(address.mailbox ?? '');
  const spec = address.host ? `${mailbox}@${decodeWords(address.host)}` : mailbox;
  const name = address.name ? decodeWords(address.name).trim() : '';
  return { mailbox: mailbox.toLowerCase(), display: (name || spec).toLowerCase() };
}

export function summarize(raw: Buffer, structure: MessageStructure = parseMessage(raw)): MessageSummary {
  const root = structure.root;
  const fields = headerFields(raw, root.headerStart, root.bodyStart);
  const get = (name: string) => fieldLatin1(raw, fields, name);
  const subjectField = findField(fields, 'Subject');
  const subject = baseSubject(subjectField ? decodedValue(raw, subjectField) : '');
  const dateText = get('Date');
  const sent = dateText === null ? null : parseMailDate(dateText);
  const from = firstAddress(get('From'));
  const to = firstAddress(get('To'));
  const ids = (value: string | null) => (value === null ? [] : (value.match(MSG_ID) ?? []));
  const references = ids(get('References'));
  const bodyStructure = bodyStructureOf(raw, root, true) as ImapLikeValue[];
  return {
    version: SUMMARY_VERSION,
    structure,
    envelope: envelopeOf(raw, root),
    body: bodyFromStructure(root, bodyStructure),
    bodyStructure,
    preview: previewOf(raw, root),
    sort: {
      sentDate: sent ? sent.getTime() : null,
      subject: subject.base,
      replyOrForward: subject.replyOrForward,
      from: from.mailbox,
      to: to.mailbox,
      cc: firstAddress(get('Cc')).mailbox,
      displayFrom: from.display,
      displayTo: to.display,
    },
    messageId: ids(get('Message-ID'))[0] ?? null,
    references: references.length > 0 ? references : ids(get('In-Reply-To')).slice(0, 1),
  };
}

// ------------------------------------------------------------ serialisation

type Json = null | number | string | boolean | Json[] | { [key: string]: Json };

/** Buffers (8-bit header bytes) become {"b64": "..."}; everything else in a summary is plain JSON. */
function toJson(value: unknown): Json {
  if (Buffer.isBuffer(value)) return { b64: value.toString('base64') };
  if (Array.isArray(value)) return value.map(toJson);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
  }
  return value as Json;
}

function fromJson(value: Json): unknown {
  if (Array.isArray(value)) return value.map(fromJson);
  if (value !== null && typeof value === 'object') {
    if (typeof value['b64'] === 'string' && Object.keys(value).length === 1) return Buffer.from(value['b64'], 'base64');
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromJson(v)]));
  }
  return value;
}

export function serializeSummary(summary: MessageSummary): string {
  return JSON.stringify(toJson(summary));
}

/**
 * Octets a stored summary may take. With the header budget (headers.ts) even
 * 10,000 parts stay under it; anything larger is described as one opaque part
 * instead (minimalSummaryJson).
 */
export const MAX_SUMMARY_JSON_OCTETS = 6 * 1024 * 1024;

/** The stored form of a message's summary, at most MAX_SUMMARY_JSON_OCTETS as UTF-8. */
export function summaryJson(raw: Buffer): string {
  const json = serializeSummary(summarize(raw));
  return Buffer.byteLength(json) <= MAX_SUMMARY_JSON_OCTETS ? json : minimalSummaryJson(raw);
}

/**
 * A valid summary that reads no more than the top-level header and a prefix of
 * the body: the message as one opaque text/plain part (opaqueMessage), with its
 * ENVELOPE, sort keys and PREVIEW. Used when the full summary is too large or
 * could not be computed, so a message is never lost for its summary.
 */
export function minimalSummaryJson(raw: Buffer): string {
  return serializeSummary(summarize(raw, opaqueMessage(raw)));
}

/** The stored summary, or null when it is unreadable or of another version (the caller recomputes it). */
export function parseSummary(text: string): MessageSummary | null {
  try {
    const json = JSON.parse(text) as Json;
    // Most summaries hold no 8-bit header bytes: skip the rebuilding walk when no {"b64": ...} can be in the text
    // (inside a JSON string a quote is escaped, so the key's quoted form only appears as a key).
    const value = (text.includes('"b64"') ? fromJson(json) : json) as MessageSummary;
    return value && value.version === SUMMARY_VERSION ? value : null;
  } catch {
    return null;
  }
}

/** What a header sync needs of a summary (FETCH ENVELOPE, BODY, BODYSTRUCTURE). */
export type SummaryItemValues = Pick<MessageSummary, 'envelope' | 'body' | 'bodyStructure'>;

/**
 * ENVELOPE, BODY and BODYSTRUCTURE of a stored summary, parsing only them:
 * the MIME structure, the bulk of the text, is skipped. serializeSummary
 * writes them one after the other before "preview", and a key's quoted name
 * can only appear as a key (in a JSON string a quote is escaped), so the text
 * between ',"envelope":' and ',"preview":' is exactly those three members.
 * Null when the summary is unreadable or of another version (the caller
 * recomputes it), as for parseSummary.
 */
export function parseSummaryItems(text: string): SummaryItemValues | null {
  if (!text.startsWith(`{"version":${SUMMARY_VERSION},`)) return null;
  const from = text.indexOf(',"envelope":');
  const to = from < 0 ? -1 : text.indexOf(',"preview":', from);
  if (to < 0) return parseSummary(text);
  try {
    const members = text.slice(from + 1, to);
    const json = JSON.parse(`{${members}}`) as Json;
    const value = (members.includes('"b64"') ? fromJson(json) : json) as SummaryItemValues;
    return value.envelope !== undefined && value.body !== undefined && value.bodyStructure !== undefined ? value : parseSummary(text);
  } catch {
    return parseSummary(text);
  }
}
