/**
 * Public surface of src/mail: MIME parsed once into a JSON-serialisable
 * structure of octet offsets, and the FETCH / SEARCH views computed from the
 * raw message through it. Imports nothing else from Mailstead.
 *
 * Offsets, sizes and line counts are of the bytes as stored: the server
 * should store messages with CRLF line ends (IMAP APPEND and LMTP deliver
 * them so) for sizes to match what clients count.
 */
import { parseAddressList } from './address.js';
import { bodyStructureOf } from './bodystructure.js';
import { parseMailDate, parseMailDay } from './date.js';
import { envelopeOf, type ImapLikeValue } from './envelope.js';
import { decodedValue, fieldLatin1, headerFields } from './headers.js';
import type { MessageStructure } from './parse.js';
import { bodyTextContains, bodyTextOf } from './text.js';
export { containsText } from './find.js';

export { parseMessage, MAX_MIME_DEPTH } from './parse.js';
export type { MessageStructure, MimePart, PartKind } from './parse.js';
export { isSliceSection, sectionBytes, sectionRange, resolvePart } from './sections.js';
export type { ByteRange, SectionSpec, SectionText } from './sections.js';
export type { ImapLikeValue } from './envelope.js';
export { decodeTransfer, decodeCharset } from './text.js';
export { binaryHeaderRange, binaryPlan, binaryRange, binarySection, decodedExtent, decodedSlice } from './binary.js';
export { streamedBodyTextIncludes, type OpenRange } from './text-stream.js';
export type { BinaryPlan, BinaryResult } from './binary.js';
export { summarize, serializeSummary, parseSummary, parseSummaryItems, SUMMARY_VERSION, summaryJson, minimalSummaryJson, MAX_SUMMARY_JSON_OCTETS } from './summary.js';
export type { MessageSummary, SortFields, SummaryItemValues } from './summary.js';
export { minimalSummaryOfStream, MINIMAL_SUMMARY_HEADER_OCTETS } from './minimal-summary.js';
export { baseSubject } from './subject.js';
export { casemap, compareMapped } from './casemap.js';
export { previewOf, PREVIEW_MAX_CHARS } from './preview.js';

/** ENVELOPE of the top-level message (RFC 9051 §7.5.2). */
export function envelope(raw: Buffer, s: MessageStructure): ImapLikeValue {
  return envelopeOf(raw, s.root);
}

/** BODY (extended=false) or BODYSTRUCTURE (extended=true) of the message. */
export function bodyStructure(raw: Buffer, s: MessageStructure, extended: boolean): ImapLikeValue {
  return bodyStructureOf(raw, s.root, extended);
}

function topFields(raw: Buffer, s: MessageStructure) {
  return headerFields(raw, s.root.headerStart, s.root.bodyStart);
}

/** Unfolded, RFC 2047-decoded values of a top-level header field, in order. */
export function headerValues(raw: Buffer, s: MessageStructure, field: string): string[] {
  const lower = field.toLowerCase();
  return topFields(raw, s)
    .filter((f) => f.name.toLowerCase() === lower)
    .map((f) => decodedValue(raw, f));
}

/**
 * The addresses of a top-level address field (From, To, Cc, ...) as
 * "name <mailbox@host>", and its groups by name, for SEARCH FROM/TO/CC/BCC:
 * comments and quoting inside an address ("<user (c)@ (c) example.org>") must
 * not hide it from a substring search. Addresses the parser had to patch up
 * (no mailbox or no domain) are left to the plain header match.
 */
export function addressValues(raw: Buffer, s: MessageStructure, field: string): string[] {
  return headerValues(raw, s, field).flatMap((value) =>
    parseAddressList(value).flatMap((a) => {
      if (a.host === null) return a.mailbox ? [a.mailbox] : [];
      if (a.mailbox === 'MISSING_MAILBOX' || a.host === 'MISSING_DOMAIN') return [];
      const address = `${a.mailbox}@${a.host}`;
      return [a.name ? `${a.name} <${address}>` : address];
    }),
  );
}

/** Every top-level header field as [name as written, unfolded decoded value], in order. */
export function allHeaders(raw: Buffer, s: MessageStructure): Array<[string, string]> {
  return topFields(raw, s).map((f) => [f.name, decodedValue(raw, f)]);
}

/** Decoded text of the text/* parts, for SEARCH BODY and TEXT. */
export function bodyText(raw: Buffer, s: MessageStructure, nestedHeaders = false): string {
  return bodyTextOf(raw, s.root, nestedHeaders);
}

/** SEARCH BODY/TEXT: whether the decoded text contains `needle` (lower-cased), without building the whole text at once. */
export function bodyTextIncludes(raw: Buffer, s: MessageStructure, needle: string, nestedHeaders = false): boolean {
  return bodyTextContains(raw, s.root, needle, nestedHeaders);
}

/** The Date header as an instant, or null when absent or unreadable. */
export function sentDate(raw: Buffer, s: MessageStructure): Date | null {
  const value = fieldLatin1(raw, topFields(raw, s), 'Date');
  return value === null ? null : parseMailDate(value);
}

/** The Date header's calendar day in its own zone (YYYY-MM-DD, for SENT* searches), or null. */
export function sentDay(raw: Buffer, s: MessageStructure): string | null {
  const value = fieldLatin1(raw, topFields(raw, s), 'Date');
  return value === null ? null : parseMailDay(value);
}
