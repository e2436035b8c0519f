/**
 * Names in untagged responses that the encoder has no type for (METADATA,
 * ACL, MYRIGHTS, LISTRIGHTS): atoms when they can be, as Dovecot's
 * imap_append_astring writes them, and mailbox names in modified UTF-7
 * unless UTF8=ACCEPT is on (RFC 9051 §5.1, RFC 6855 §3).
 */
import { isAtomChar } from '../protocol/imap/cursor.js';
import { encodeMailboxName } from '../protocol/imap/mutf7.js';
import type { ImapValue } from '../protocol/imap/types.js';
import type { CommandContext } from './state.js';

/** An atom when every character is an ATOM-CHAR (and it is not NIL), else a string. */
export function astringValue(s: string): ImapValue {
  const atom = s.length > 0 && s.toUpperCase() !== 'NIL' && [...s].every((ch) => isAtomChar(ch.charCodeAt(0)));
  return atom ? { atom: s } : s;
}

/** A mailbox name (the store's UTF-8 form) as the client reads it. */
export function mailboxNameValue(ctx: CommandContext, name: string): ImapValue {
  return astringValue(ctx.enabled.has('UTF8=ACCEPT') ? name : encodeMailboxName(name));
}
