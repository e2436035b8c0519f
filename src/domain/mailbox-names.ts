/**
 * Mailbox names as the store keeps them: UTF-8, "/" as the hierarchy
 * separator, "INBOX" case-insensitive and stored upper case (RFC 9051 §5.1).
 * Protocol encodings (modified UTF-7 for IMAP4rev1 clients) live in protocol/.
 */
export const HIERARCHY_SEPARATOR = '/';
export const MAX_MAILBOX_NAME_BYTES = 512;
export const MAX_MAILBOX_DEPTH = 16;

export class InvalidMailboxName extends Error {
  constructor(
    readonly mailboxName: string,
    reason: string,
  ) {
    super(reason);
    this.name = 'InvalidMailboxName';
  }
}

/** "inbox" -> "INBOX", "Inbox/x" -> "INBOX/x"; anything else unchanged. */
export function canonicalMailboxName(name: string): string {
  const first = name.split(HIERARCHY_SEPARATOR, 1)[0];
  if (first.toUpperCase() === 'INBOX') return 'INBOX' + name.slice(first.length);
  return name;
}

/** Validates a name for creation or rename; returns its canonical form or throws InvalidMailboxName. */
export function validateMailboxName(name: string): string {
  const canonical = canonicalMailboxName(name);
  if (canonical.length === 0) throw new InvalidMailboxName(name, 'Mailbox name is empty');
  if (Buffer.byteLength(canonical) > MAX_MAILBOX_NAME_BYTES) {
    throw new InvalidMailboxName(name, `Mailbox name is longer than ${MAX_MAILBOX_NAME_BYTES} bytes`);
  }
  // Control characters and the LIST wildcards would make the name ambiguous in LIST patterns.
  if (/[\u0000-\u001f\u007f*%]/.test(canonical)) {
    throw new InvalidMailboxName(name, 'Mailbox name contains a control character or a wildcard (* or %)');
  }
  const parts = canonical.split(HIERARCHY_SEPARATOR);
  if (parts.some((p) => p.length === 0)) {
    throw new InvalidMailboxName(name, 'Mailbox name has an empty level (leading, trailing or doubled "/")');
  }
  if (parts.length > MAX_MAILBOX_DEPTH) {
    throw new InvalidMailboxName(name, `Mailbox name is nested deeper than ${MAX_MAILBOX_DEPTH} levels`);
  }
  if (parts.some((p) => p === '.' || p === '..')) {
    throw new InvalidMailboxName(name, 'Mailbox name has a "." or ".." level');
  }
  return canonical;
}
