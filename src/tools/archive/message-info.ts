/**
 * What the tools read from a message's header: dates, Message-ID, X-UIDL.
 * Only the header is scanned (src/mail's byte-exact scanner), never the body.
 */
import { parseMailDate } from '../../mail/date.js';
import { type HeaderField, fieldLatin1, scanHeader, unfoldedValue } from '../../mail/headers.js';

export interface HeaderFacts {
  date: Date | null;
  /** Date of the topmost Received field: when the last hop delivered it (RFC 5321 §4.4). */
  receivedDate: Date | null;
  /** Message-ID with its angle brackets, as written; null when absent. */
  messageId: string | null;
  /** A POP3 UIDL some clients (fetchmail, Eudora, old mbox tools) kept in the header. */
  xUidl: string | null;
}

export function headerFacts(content: Buffer): HeaderFacts {
  const { fields } = scanHeader(content, 0, content.length);
  const dateText = fieldLatin1(content, fields, 'Date');
  const received = fields.find((f: HeaderField) => f.name.toLowerCase() === 'received');
  let receivedDate: Date | null = null;
  if (received) {
    // RFC 5321 §4.4: the date-time follows the last ";" of the Received field.
    const value = unfoldedValue(content, received).toString('latin1');
    const semi = value.lastIndexOf(';');
    if (semi !== -1) receivedDate = parseMailDate(value.slice(semi + 1));
  }
  const messageId = fieldLatin1(content, fields, 'Message-ID')?.trim() || null;
  const xUidl = fieldLatin1(content, fields, 'X-UIDL')?.trim() || null;
  return {
    date: dateText ? parseMailDate(dateText) : null,
    receivedDate,
    messageId,
    xUidl: xUidl && /^[\x21-\x7e]{1,70}$/.test(xUidl) ? xUidl : null,
  };
}
