/**
 * ENVELOPE (RFC 9051 §7.5.2): (date subject from sender reply-to to cc bcc
 * in-reply-to message-id), taken from the first occurrence of each field,
 * unfolded but otherwise raw (encoded words are the client's to decode).
 * The strings meant for people, the subject and display names, have each run
 * of white space (a fold's TAB included) sent as one space, trimmed, as
 * Dovecot sends them; the others (date, message ids) keep their TABs, as there.
 */
import { parseAddressList } from './address.js';
import { fieldLatin1, findField, type HeaderBudget, headerFields, imapString } from './headers.js';
import type { MimePart } from './parse.js';

export type ImapLikeValue = null | number | string | Buffer | ImapLikeValue[];

function nstring(value: string | null): string | Buffer | null {
  return value === null ? null : imapString(value);
}

/** A string for people: runs of SP, TAB, CR, LF as one space, none at either end (one linear pass). */
function forHumans(value: string | null): string | Buffer | null {
  return value === null ? null : nstring(value.replace(/[ \t\r\n]+/g, ' ').trim());
}

function addressList(value: string | null): ImapLikeValue[] | null {
  if (value === null) return null;
  const list = parseAddressList(value);
  if (list.length === 0) return null;
  return list.map((a) => [forHumans(a.name), nstring(a.adl), nstring(a.mailbox), nstring(a.host)]);
}

/**
 * The envelope of the message whose header starts at `message.headerStart`.
 * An attached message's envelope charges its fields to the whole message's
 * `budget` (headers.ts), read as absent once it is spent.
 */
export function envelopeOf(raw: Buffer, message: MimePart, budget?: HeaderBudget): ImapLikeValue {
  const fields = headerFields(raw, message.headerStart, message.bodyStart);
  const get = budget
    ? (name: string) => {
        const field = findField(fields, name);
        return (field && budget.descriptive(raw, field)?.toString('latin1')) ?? null;
      }
    : (name: string) => fieldLatin1(raw, fields, name);
  const from = addressList(get('From'));
  // "If the Sender or Reply-To lines are absent in the header, or are present
  // but empty, the server sets the corresponding member of the envelope to be
  // the same value as the from member" (RFC 9051 §7.5.2).
  const sender = addressList(get('Sender')) ?? from;
  const replyTo = addressList(get('Reply-To')) ?? from;
  return [
    nstring(get('Date')),
    forHumans(get('Subject')),
    from,
    sender,
    replyTo,
    addressList(get('To')),
    addressList(get('Cc')),
    addressList(get('Bcc')),
    nstring(get('In-Reply-To')),
    nstring(get('Message-ID')),
  ];
}
