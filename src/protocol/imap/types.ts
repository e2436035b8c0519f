/**
 * The typed surface of the IMAP codec: what the parser produces and what the
 * encoder consumes. Pure data: no sockets, store or logger here.
 */

// ------------------------------------------------------------------ commands

/** One range of a sequence set; a single number n is {from: n, to: n}. '*' is the largest number in use. */
export interface SeqRange {
  from: number | '*';
  to: number | '*';
}
/** RFC 9051 §9 sequence-set, or `'$'`: the saved search result (RFC 5182 §2.1). */
export type SequenceSet = SeqRange[] | '$';

/** A BODY[...] / BINARY[...] section: part path then optional text specifier. */
export interface Section {
  /** Part numbers, e.g. [1, 2] for "1.2"; empty for the whole message. */
  part: number[];
  text?: 'HEADER' | 'TEXT' | 'MIME' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT';
  /** Header field names for HEADER.FIELDS(.NOT), as sent (case preserved). */
  fields?: string[];
}

export interface Partial {
  offset: number;
  length: number;
}

export type FetchAttribute =
  | { kind: 'FLAGS' }
  | { kind: 'UID' }
  | { kind: 'INTERNALDATE' }
  | { kind: 'RFC822.SIZE' }
  | { kind: 'ENVELOPE' }
  | { kind: 'BODYSTRUCTURE' }
  /** Non-extensible BODY (no section). */
  | { kind: 'BODY' }
  | { kind: 'RFC822' }
  | { kind: 'RFC822.HEADER' }
  | { kind: 'RFC822.TEXT' }
  | { kind: 'MODSEQ' }
  /** BODY[section]<partial> and BODY.PEEK[...]. */
  | { kind: 'BODY[]'; peek: boolean; section: Section; partial?: Partial }
  | { kind: 'BINARY[]'; peek: boolean; section: Section; partial?: Partial }
  | { kind: 'BINARY.SIZE'; section: Section }
  /** RFC 8970 PREVIEW [(LAZY)]. */
  | { kind: 'PREVIEW'; lazy: boolean }
  /** RFC 8474 OBJECTID. */
  | { kind: 'EMAILID' }
  | { kind: 'THREADID' }
  /** RFC 8514 SAVEDATE. */
  | { kind: 'SAVEDATE' };

export type SearchKey =
  | { type: 'all' }
  /** SEEN/UNSEEN, ANSWERED/UNANSWERED, DELETED/UNDELETED, FLAGGED/UNFLAGGED, DRAFT/UNDRAFT, KEYWORD/UNKEYWORD. */
  | { type: 'flag'; flag: string; set: boolean }
  /** RECENT / NEW / OLD (IMAP4rev1 only; \Recent is per session, see imap/recent.ts). */
  | { type: 'recent'; value: 'recent' | 'new' | 'old' }
  | { type: 'seq'; set: SequenceSet }
  | { type: 'uid'; set: SequenceSet }
  /** BEFORE/ON/SINCE use INTERNALDATE, SENTBEFORE/SENTON/SENTSINCE the Date header. Date is "YYYY-MM-DD". */
  | { type: 'date'; field: 'internal' | 'sent'; op: 'before' | 'on' | 'since'; date: string }
  | { type: 'size'; op: 'larger' | 'smaller'; value: number }
  /** HEADER name value; SUBJECT, FROM, TO, CC, BCC become header keys with that field name. */
  | { type: 'header'; field: string; value: string }
  | { type: 'body'; value: string }
  | { type: 'text'; value: string }
  | { type: 'modseq'; value: number }
  /** RFC 5032 OLDER / YOUNGER: INTERNALDATE more (older) or less (younger) than `seconds` ago. */
  | { type: 'within'; op: 'older' | 'younger'; seconds: number }
  /** RFC 8474 EMAILID / THREADID. */
  | { type: 'objectid'; field: 'emailid' | 'threadid'; value: string }
  /** RFC 8514 SAVEDBEFORE / SAVEDON / SAVEDSINCE (date "YYYY-MM-DD"), SAVEDATESUPPORTED. */
  | { type: 'savedate'; op: 'before' | 'on' | 'since' | 'supported'; date: string }
  | { type: 'not'; key: SearchKey }
  | { type: 'or'; left: SearchKey; right: SearchKey }
  /** A parenthesised list or the top-level list of keys: all must match. */
  | { type: 'and'; keys: SearchKey[] };

export type SortKey = 'ARRIVAL' | 'CC' | 'DATE' | 'FROM' | 'SIZE' | 'SUBJECT' | 'TO' | 'DISPLAYFROM' | 'DISPLAYTO';
export interface SortCriterion {
  key: SortKey;
  reverse: boolean;
}

export type StatusItem =
  | 'MESSAGES'
  | 'UIDNEXT'
  | 'UIDVALIDITY'
  | 'UNSEEN'
  | 'DELETED'
  | 'SIZE'
  | 'RECENT'
  | 'HIGHESTMODSEQ'
  /** RFC 7889. */
  | 'APPENDLIMIT'
  /** RFC 9208 §4.3.3: octets that EXPUNGE would free. */
  | 'DELETED-STORAGE'
  /** RFC 8474 §4: the mailbox's object id. */
  | 'MAILBOXID';

/** SELECT/EXAMINE (QRESYNC (uidvalidity modseq [known-uids] [(known-seqs known-uids)])) (RFC 7162 §3.2.5). */
export interface QresyncParams {
  uidValidity: number;
  modSeq: number;
  knownUids: SequenceSet | null;
  /** seq-match-data: message sequence numbers and the UIDs the client has for them. */
  seqMatch: { seqs: SequenceSet; uids: SequenceSet } | null;
}

export interface AppendMessage {
  flags: string[];
  /** Parsed date-time argument, if given. */
  internalDate?: Date;
  content: Buffer;
  /** Sent as a literal8 ~{n} (RFC 3516 §4.4): binary content the server must make readable or refuse. */
  binary?: boolean;
}

/** RFC 9394 PARTIAL return option: results first..last counted from 1 (positive) or from the end, -1 the last (negative). */
export interface PartialRange {
  first: number;
  last: number;
}

/** A mailbox name exactly as the client sent it (astring decoded as UTF-8); the session decodes modified UTF-7. */
export type MailboxArg = string;

export type ImapCommandBody =
  | { name: 'CAPABILITY' }
  | { name: 'NOOP' }
  | { name: 'LOGOUT' }
  | { name: 'STARTTLS' }
  | { name: 'LOGIN'; username: string; password: string }
  /** `initialResponse` is the SASL-IR argument as sent (base64, or "=" for empty), null when absent. */
  | { name: 'AUTHENTICATE'; mechanism: string; initialResponse: string | null }
  | { name: 'ENABLE'; capabilities: string[] }
  | { name: 'ID'; params: Array<[string, string | null]> | null }
  | { name: 'NAMESPACE' }
  /** `qresync` only when the QRESYNC parameter was given (RFC 7162 §3.2.5). */
  | { name: 'SELECT' | 'EXAMINE'; mailbox: MailboxArg; condstore: boolean; qresync?: QresyncParams }
  | { name: 'CREATE'; mailbox: MailboxArg; specialUse: string[] }
  | { name: 'DELETE'; mailbox: MailboxArg }
  | { name: 'RENAME'; from: MailboxArg; to: MailboxArg }
  | { name: 'SUBSCRIBE'; mailbox: MailboxArg }
  | { name: 'UNSUBSCRIBE'; mailbox: MailboxArg }
  /**
   * LIST reference pattern(s) with RFC 5258 selection and return options
   * (uppercased, e.g. ['SUBSCRIBED'] and ['SPECIAL-USE', 'CHILDREN']; `returnStatus` for RFC 5819).
   */
  | {
      name: 'LIST';
      reference: MailboxArg;
      patterns: MailboxArg[];
      selectOptions: string[];
      returnOptions: string[];
      returnStatus: StatusItem[] | null;
    }
  | { name: 'LSUB'; reference: MailboxArg; pattern: MailboxArg }
  | { name: 'STATUS'; mailbox: MailboxArg; items: StatusItem[] }
  | { name: 'APPEND'; mailbox: MailboxArg; messages: AppendMessage[] }
  | { name: 'CHECK' }
  | { name: 'CLOSE' }
  | { name: 'UNSELECT' }
  | { name: 'EXPUNGE' }
  | { name: 'UID EXPUNGE'; set: SequenceSet }
  /** SEARCH / UID SEARCH; `returnOptions` is null for plain SEARCH, the ESEARCH RETURN list (uppercased) otherwise. */
  | { name: 'SEARCH'; uid: boolean; charset: string | null; returnOptions: string[] | null; partial?: PartialRange; key: SearchKey }
  /** `vanished` only when the VANISHED modifier was given (RFC 7162 §3.2.6, UID FETCH with CHANGEDSINCE). */
  | { name: 'FETCH'; uid: boolean; set: SequenceSet; attributes: FetchAttribute[]; changedSince: number | null; vanished?: boolean }
  /** SORT / UID SORT (RFC 5256 §3, RFC 5957 DISPLAYFROM/DISPLAYTO); keys upper case, each with its REVERSE flag. */
  /** `returnOptions` only with RETURN (RFC 5267 ESORT): the answer is then an ESEARCH response. */
  | { name: 'SORT'; uid: boolean; criteria: SortCriterion[]; charset: string; key: SearchKey; returnOptions?: string[]; partial?: PartialRange }
  /** THREAD / UID THREAD (RFC 5256 §3); algorithm upper case. */
  | { name: 'THREAD'; uid: boolean; algorithm: string; charset: string; key: SearchKey }
  | {
      name: 'STORE';
      uid: boolean;
      set: SequenceSet;
      op: 'add' | 'remove' | 'replace';
      silent: boolean;
      flags: string[];
      unchangedSince: number | null;
    }
  | { name: 'COPY' | 'MOVE'; uid: boolean; set: SequenceSet; mailbox: MailboxArg }
  /** RFC 8508: REPLACE / UID REPLACE: append `message` to `mailbox`, then expunge message `target` of the selected mailbox. */
  | { name: 'REPLACE'; uid: boolean; target: number; mailbox: MailboxArg; message: AppendMessage }
  | { name: 'IDLE' }
  /** RFC 5464 §4.2 GETMETADATA [(MAXSIZE n DEPTH d)] mailbox entries; mailbox "" is the server. */
  | { name: 'GETMETADATA'; mailbox: MailboxArg; entries: string[]; maxSize: number | null; depth: 0 | 1 | 'infinity' }
  /** RFC 5464 §4.3 SETMETADATA mailbox (entry value ...); a null value (NIL) removes the entry. */
  | { name: 'SETMETADATA'; mailbox: MailboxArg; entries: Array<{ name: string; value: Buffer | null }> }
  /** RFC 4314 §3: access control; `rights` as sent (a leading "+" or "-" adds or removes). */
  | { name: 'SETACL'; mailbox: MailboxArg; identifier: string; rights: string }
  | { name: 'DELETEACL' | 'LISTRIGHTS'; mailbox: MailboxArg; identifier: string }
  | { name: 'GETACL' | 'MYRIGHTS'; mailbox: MailboxArg }
  /** RFC 5267 §4.3: CANCELUPDATE 1*(SP tag). */
  | { name: 'CANCELUPDATE'; tags: string[] }
  /** RFC 4978: the only algorithm is DEFLATE; `algorithm` upper case as sent. */
  | { name: 'COMPRESS'; algorithm: string }
  /** RFC 9208 §4.1: quota root names and mailbox names as sent. */
  | { name: 'GETQUOTA'; root: string }
  | { name: 'GETQUOTAROOT'; mailbox: MailboxArg }
  | { name: 'SETQUOTA'; root: string; limits: Array<[string, number]> }
  /** RFC 5465 NOTIFY NONE / NOTIFY SET [STATUS] event-groups. */
  | { name: 'NOTIFY'; set: NotifySet | null };

/** RFC 5465 §3: what NOTIFY SET asked for. */
export interface NotifySet {
  status: boolean;
  groups: NotifyGroup[];
}

/** One event group: which mailboxes, and which events (empty for NONE). Event names as sent, case kept. */
export interface NotifyGroup {
  filter:
    | { kind: 'SELECTED' | 'SELECTED-DELAYED' | 'PERSONAL' | 'INBOXES' | 'SUBSCRIBED' }
    | { kind: 'SUBTREE' | 'MAILBOXES'; mailboxes: MailboxArg[] };
  events: NotifyEvent[];
}

/** An event; `fetch` only for MessageNew with fetch attributes (RFC 5465 §5.1). */
export interface NotifyEvent {
  name: string;
  fetch?: FetchAttribute[];
}

export type ImapCommand = { tag: string } & ImapCommandBody;
export type ImapCommandName = ImapCommandBody['name'];

/** A command that could not be parsed: the session answers `tag BAD text` (tag '*' when none could be read). */
export interface ImapParseError {
  tag: string;
  text: string;
}

// ---------------------------------------------------------------- responses

/**
 * A generic IMAP data value for the encoder (RFC 9051 §4):
 * null -> NIL; number -> number; string -> quoted string, or a literal when it
 * cannot be quoted (CR, LF, NUL, 8-bit without UTF-8, or long); `{ atom }` ->
 * written as is; Buffer -> literal; `{ literal8 }` -> literal8 "~{n}" (RFC 3516
 * §4.2, for BINARY data containing NUL); array -> parenthesised list;
 * `{ encoded }` -> bytes encodeValue() made earlier with the same options,
 * written as is (a FETCH item that never changes, encoded once and cached).
 */
export type ImapValue =
  | null
  | number
  | bigint
  | string
  | { atom: string }
  | { literal8: Buffer }
  | { encoded: Buffer }
  | { deferred: DeferredLiteral }
  | Buffer
  | ImapValue[];

/**
 * A literal whose octets are not in memory (a message body read from the
 * store as a stream): the encoder writes only its prefix, "{n}" CRLF or
 * "~{n}" CRLF for literal8, and returns the DeferredLiteral in place of the
 * octets; the session then writes exactly `length` octets from `source`.
 */
export interface DeferredLiteral {
  readonly length: number;
  readonly literal8?: boolean;
  /** Opaque to the codec: what the session reads the octets from. */
  readonly source: unknown;
}

export interface ResponseCode {
  /** e.g. 'UIDVALIDITY', 'PERMANENTFLAGS', 'APPENDUID', 'OVERQUOTA', 'TRYCREATE', 'ALERT'. */
  name: string;
  /** Written after the name, separated by a space: e.g. '1234' or a list value. */
  value?: ImapValue;
}

export type ImapResponse =
  | {
      type: 'status';
      /** '*' for untagged. */
      tag: string;
      status: 'OK' | 'NO' | 'BAD' | 'BYE' | 'PREAUTH';
      code?: ResponseCode;
      text: string;
    }
  | { type: 'continuation'; text: string }
  | { type: 'capability'; capabilities: string[] }
  | { type: 'exists'; count: number }
  | { type: 'recent'; count: number }
  | { type: 'expunge'; seq: number }
  | { type: 'flags'; flags: string[] }
  /** `mailbox` is the store's UTF-8 name; the encoder writes modified UTF-7 unless UTF-8 is enabled. */
  | {
      type: 'list';
      command: 'LIST' | 'LSUB';
      attributes: string[];
      delimiter: string | null;
      mailbox: string;
      /** RFC 5258 extended data items, e.g. ['CHILDINFO', ['SUBSCRIBED']]. */
      extended?: ImapValue[];
      /** RFC 9051 §7.3.1 / RFC 5465 §5.4 ("OLDNAME" (old)) after a rename; the store's UTF-8 name. */
      oldName?: string;
    }
  /** Numbers, or a list for MAILBOXID (RFC 8474 §4). */
  | { type: 'status-data'; mailbox: string; items: Array<[string, number | ImapValue]> }
  | { type: 'search'; ids: number[]; modSeq?: number }
  /** RFC 4731 ESEARCH: `data` pairs like ['COUNT', 3], ['ALL', '1:3,5']. */
  | { type: 'esearch'; tag: string; uid: boolean; data: Array<[string, ImapValue]> }
  /** One FETCH response; item names are written as given ('UID', 'FLAGS', 'BODY[HEADER]<0>'). With `uidFetch`, "* uid UIDFETCH (...)" (RFC 9586 §3.3) and `seq` is the UID. */
  | { type: 'fetch'; seq: number; items: Array<[string, ImapValue]>; uidFetch?: boolean }
  | { type: 'enabled'; capabilities: string[] }
  | { type: 'id'; params: Array<[string, string | null]> | null }
  /** NAMESPACE: personal, other users, shared; each null or a list of [prefix, delimiter]. */
  | {
      type: 'namespace';
      personal: Array<[string, string]> | null;
      other: Array<[string, string]> | null;
      shared: Array<[string, string]> | null;
    }
  /** RFC 9208 §5.1: `* QUOTA root (resource usage limit ...)`. */
  | { type: 'quota'; root: string; resources: Array<[string, number, number]> }
  /** RFC 9208 §5.2: `* QUOTAROOT mailbox root...`; `mailbox` is the store's UTF-8 name. */
  | { type: 'quotaroot'; mailbox: string; roots: string[] }
  /** Anything else, already shaped as values after "* ". */
  | { type: 'untagged'; values: ImapValue[] }
  /** Responses already in wire form, each ending in CRLF (a batch of FETCH responses built in one buffer); written as is. */
  | { type: 'wire'; bytes: Buffer };

export interface EncodeOptions {
  /** RFC 6855 UTF8=ACCEPT enabled: mailbox names are written as UTF-8, 8-bit quoted strings allowed. */
  utf8: boolean;
}
