/**
 * CAPABILITY lists by state. Only what is implemented is announced.
 * Before TLS on a plain port: STARTTLS and LOGINDISABLED (RFC 9051 §6.2.3,
 * §7.2.2); once authentication is possible: AUTH=PLAIN, AUTH=SCRAM-SHA-256
 * (RFC 7677; not -PLUS: no channel binding) and SASL-IR (RFC 4959).
 * LITERAL- before login, LITERAL+ after (RFC 7888 §4: the reader refuses
 * non-synchronising literals over 4096 octets until login).
 * src/imap/capabilities.test.ts exercises every capability listed
 * after login; a new one needs a row there.
 */
export const BASE_CAPABILITIES = ['IMAP4rev2', 'IMAP4rev1'];

/** After authentication. */
export const SESSION_CAPABILITIES = [
  ...BASE_CAPABILITIES,
  'LITERAL+',
  'ENABLE',
  'IDLE',
  'NAMESPACE',
  'ID',
  'UIDPLUS',
  'MOVE',
  'UNSELECT',
  'CHILDREN',
  'SPECIAL-USE',
  'CREATE-SPECIAL-USE',
  'LIST-EXTENDED',
  'LIST-STATUS',
  'MULTIAPPEND',
  'ESEARCH',
  // Issue 4 part A: SEARCHRES (RFC 5182), WITHIN (RFC 5032), BINARY (RFC 3516), SORT/THREAD (RFC 5256),
  // SORT=DISPLAY (RFC 5957), PREVIEW (RFC 8970), SAVEDATE (RFC 8514).
  'SEARCHRES',
  'WITHIN',
  'BINARY',
  'SORT',
  'SORT=DISPLAY',
  'THREAD=ORDEREDSUBJECT',
  'THREAD=REFERENCES',
  'PREVIEW',
  'SAVEDATE',
  'UTF8=ACCEPT',
  'STATUS=SIZE',
  'COMPRESS=DEFLATE',
  'QUOTA',
  'QUOTA=RES-STORAGE',
  // Issue 5: RFC 7162 resynchronisation.
  'CONDSTORE',
  'QRESYNC',
  // RFC 5465: other mailboxes' changes and the mailbox list, reported at safe points and in IDLE.
  'NOTIFY',
  // RFC 8474: EMAILID, THREADID, and MAILBOXID in SELECT, CREATE and STATUS.
  'OBJECTID',
  // RFC 8508: REPLACE / UID REPLACE (append, then expunge the old message).
  'REPLACE',
  // RFC 9394: SEARCH RETURN (PARTIAL first:last), paged results.
  'PARTIAL',
  // RFC 9585: untagged OK [INPROGRESS] while a long SEARCH/SORT/THREAD/COPY/MOVE runs (src/imap/progress.ts).
  'INPROGRESS',
  // RFC 5267 §3.2: SORT RETURN (MIN MAX COUNT ALL PARTIAL SAVE) answered with ESEARCH.
  'ESORT',
  // RFC 5464: GETMETADATA/SETMETADATA on mailboxes (METADATA) and on the server (METADATA-SERVER).
  'METADATA',
  'METADATA-SERVER',
  // RFC 4314: SETACL, DELETEACL, GETACL, LISTRIGHTS, MYRIGHTS; RIGHTS=texk: the rights t, e, x and k exist.
  'ACL',
  'RIGHTS=texk',
  // RFC 5267 §4: SEARCH/SORT RETURN (UPDATE) with ADDTO/REMOVEFROM updates, CANCELUPDATE (src/imap/search-context.ts).
  'CONTEXT=SEARCH',
  'CONTEXT=SORT',
  // RFC 5255 §4: SEARCH and SORT compare under i;unicode-casemap (RFC 5051; src/mail/casemap.ts).
  'I18NLEVEL=1',
  // RFC 9586: ENABLE UIDONLY; then UID commands only, UIDFETCH and VANISHED responses (src/imap/uidonly.ts).
  'UIDONLY',
];

/** After authentication, with the values that depend on configuration (RFC 7889 APPENDLIMIT). */
export function sessionCapabilities(opts: { appendLimit: number; messageLimit?: number }): string[] {
  const caps = [...SESSION_CAPABILITIES, `APPENDLIMIT=${opts.appendLimit}`];
  // RFC 9738: the most messages one command processes (src/imap/message-limit.ts).
  if (opts.messageLimit !== undefined) caps.push(`MESSAGELIMIT=${opts.messageLimit}`);
  return caps;
}

/** Extensions ENABLE turns on (RFC 5161); everything else is ignored as the RFC asks. */
export const ENABLEABLE = ['IMAP4rev2', 'UTF8=ACCEPT', 'CONDSTORE', 'QRESYNC', 'UIDONLY'];

export function preAuthCapabilities(opts: { secure: boolean; tlsAvailable: boolean; authAllowed: boolean; scram?: boolean }): string[] {
  const caps = [...BASE_CAPABILITIES, 'LITERAL-', 'ENABLE', 'ID'];
  if (!opts.secure && opts.tlsAvailable) caps.push('STARTTLS');
  // `[auth] scram = false` stores no SCRAM keys, so the mechanism is not offered.
  if (opts.authAllowed) caps.push('AUTH=PLAIN', ...(opts.scram === false ? [] : ['AUTH=SCRAM-SHA-256']), 'SASL-IR');
  else caps.push('LOGINDISABLED');
  return caps;
}
