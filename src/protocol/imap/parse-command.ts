/**
 * One framed command -> typed ImapCommand (RFC 9051 §6, §9 and the
 * extensions named beside each command). Never throws: a grammar error comes
 * back as { ok: false } with the tag when one could be read.
 */
import { Cursor, ParseError, isAstringChar, type FramedCommand } from './cursor.js';
import { parseDateTime } from './datetime.js';
import { parseFlag, parseFlagList, parseStatusItems } from './parse-common.js';
import { parseFetch } from './parse-fetch.js';
import { parseSearch } from './parse-search.js';
import { parseNotify } from './parse-notify.js';
import { parseGetMetadata, parseSetMetadata } from './parse-metadata.js';
import { parseDeleteAcl, parseGetAcl, parseListRights, parseMyRights, parseSetAcl } from './parse-acl.js';
import { parseSort, parseThread } from './parse-sort.js';
import { limits } from '../limits.js';
import type { AppendMessage, ImapCommand, ImapCommandBody, QresyncParams, SequenceSet, StatusItem } from './types.js';

export type ParseResult = { ok: true; command: ImapCommand } | { ok: false; tag: string; text: string };

type BodyParser = (c: Cursor) => ImapCommandBody;

const noArgs =
  (name: 'CAPABILITY' | 'NOOP' | 'LOGOUT' | 'STARTTLS' | 'NAMESPACE' | 'CHECK' | 'CLOSE' | 'UNSELECT' | 'EXPUNGE' | 'IDLE'): BodyParser =>
  () => ({ name });

function mailboxArg(c: Cursor, what = 'mailbox name'): string {
  c.sp(what);
  return c.astring(what);
}

/** select-params (RFC 7162 §3.1.8 CONDSTORE, §3.2.5 QRESYNC). */
function parseSelect(name: 'SELECT' | 'EXAMINE'): BodyParser {
  return (c) => {
    const mailbox = mailboxArg(c);
    let condstore = false;
    let qresync: QresyncParams | undefined;
    if (c.more()) {
      c.list(
        `${name} parameters`,
        () => {
          const param = c.keyword(`${name} parameter`);
          if (param === 'CONDSTORE') condstore = true;
          else if (param === 'QRESYNC' && !qresync) qresync = parseQresync(c);
          else throw new ParseError(`Unsupported ${name} parameter ${param}`);
        },
        false,
      );
    }
    return qresync ? { name, mailbox, condstore, qresync } : { name, mailbox, condstore };
  };
}

/** "(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")" (RFC 7162 §3.2.5, §7). */
function parseQresync(c: Cursor): QresyncParams {
  c.sp('QRESYNC parameters');
  c.expectChar('(', '"(" to start QRESYNC parameters');
  c.enter();
  const uidValidity = c.nzNumber('UIDVALIDITY');
  c.sp('mod-sequence value');
  const modSeq = c.number64('mod-sequence value');
  if (modSeq === 0) throw new ParseError('mod-sequence value must not be zero');
  let knownUids: SequenceSet | null = null;
  let seqMatch: QresyncParams['seqMatch'] = null;
  if (c.more() && c.atSeqSet()) {
    knownUids = c.seqSet('known UIDs');
    if (knownUids === '$') throw new ParseError('"$" is not a UID set');
    c.more();
  }
  if (c.peek() === 0x28) {
    c.expectChar('(', '"(" to start seq-match-data');
    c.enter();
    const seqs = c.seqSet('known sequence set');
    c.sp('known UID set');
    const uids = c.seqSet('known UID set');
    if (seqs === '$' || uids === '$') throw new ParseError('"$" is not allowed in seq-match-data');
    c.expectChar(')', '")" to end seq-match-data');
    c.leave();
    seqMatch = { seqs, uids };
  }
  c.expectChar(')', '")" to end QRESYNC parameters');
  c.leave();
  return { uidValidity, modSeq, knownUids, seqMatch };
}

/** CREATE mailbox [SP "(" "USE" SP "(" use-attr *(SP use-attr) ")" ")"] (RFC 6154 §3). */
function parseCreate(c: Cursor): ImapCommandBody {
  const mailbox = mailboxArg(c);
  const specialUse: string[] = [];
  if (c.more()) {
    c.list(
      'CREATE parameters',
      () => {
        const param = c.keyword('CREATE parameter');
        if (param !== 'USE') throw new ParseError(`Unsupported CREATE parameter ${param}`);
        c.sp('special-use attributes');
        specialUse.push(...c.list('special-use attributes', () => parseFlag(c, 'special-use attribute'), false));
      },
      false,
    );
  }
  return { name: 'CREATE', mailbox, specialUse };
}

/** LIST [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts] (RFC 5258 §6, RFC 5819). */
function parseList(c: Cursor): ImapCommandBody {
  c.sp('reference name');
  let selectOptions: string[] = [];
  if (c.peek() === 0x28) {
    selectOptions = c.list('LIST selection options', () => c.keyword('LIST selection option'), true);
    c.sp('reference name');
  }
  const reference = c.astring('reference name');
  c.sp('mailbox pattern');
  const patterns =
    c.peek() === 0x28
      ? c.list('mailbox patterns', () => c.listMailbox('mailbox pattern'), false)
      : [c.listMailbox('mailbox pattern')];
  const returnOptions: string[] = [];
  let returnStatus: StatusItem[] | null = null;
  if (c.more()) {
    if (c.keyword('RETURN') !== 'RETURN') throw new ParseError('Expected RETURN after LIST patterns');
    c.sp('LIST return options');
    c.list(
      'LIST return options',
      () => {
        const option = c.keyword('LIST return option');
        if (option === 'STATUS') {
          c.sp('status items');
          returnStatus = parseStatusItems(c);
        } else {
          returnOptions.push(option);
        }
      },
      true,
    );
  }
  return { name: 'LIST', reference, patterns, selectOptions, returnOptions, returnStatus };
}

/** APPEND mailbox 1*(SP [flag-list SP] [date-time SP] literal) (RFC 9051 §6.3.12, RFC 3502 MULTIAPPEND, RFC 3516 literal8). */
function parseAppend(c: Cursor): ImapCommandBody {
  const mailbox = mailboxArg(c);
  const messages: AppendMessage[] = [];
  do {
    messages.push(appendMessage(c));
  } while (!c.atEnd());
  return { name: 'APPEND', mailbox, messages };
}

/** SP [flag-list SP] [date-time SP] literal: one message of APPEND or REPLACE. */
function appendMessage(c: Cursor): AppendMessage {
  c.sp('message literal');
  const message: AppendMessage = { flags: [], content: Buffer.alloc(0) };
  if (c.peek() === 0x28) {
    message.flags = parseFlagList(c);
    c.sp('message literal');
  }
  if (c.peek() === 0x22) {
    const text = c.string('date-time');
    const date = parseDateTime(text);
    if (!date) throw new ParseError(`Invalid date-time "${text}" (expected e.g. "17-Jul-1996 02:44:25 -0700")`);
    message.internalDate = date;
    c.sp('message literal');
  }
  const { bytes, literal8 } = c.literalOf('message', true);
  message.content = bytes;
  if (literal8) message.binary = true;
  return message;
}

/** replace = "REPLACE" SP seq-number SP mailbox append-message; UID REPLACE takes a UID (RFC 8508 §6: one message only). */
function parseReplace(c: Cursor, uid: boolean): ImapCommandBody {
  c.sp(uid ? 'UID' : 'message sequence number');
  const target = c.nzNumber(uid ? 'UID' : 'message sequence number');
  const mailbox = mailboxArg(c);
  const message = appendMessage(c);
  return { name: 'REPLACE', uid, target, mailbox, message };
}

/** ID SP ("(" *(string SP nstring) ")" / NIL) (RFC 2971 §3.1; "()" tolerated). */
function parseId(c: Cursor): ImapCommandBody {
  c.sp('ID parameters');
  if (c.peek() !== 0x28) {
    if (c.keyword('ID parameters') !== 'NIL') throw new ParseError('Expected ID parameter list or NIL');
    return { name: 'ID', params: null };
  }
  const params = c.list(
    'ID parameter list',
    (): [string, string | null] => {
      const field = c.string('ID field name');
      c.sp('ID field value');
      return [field, c.nstring('ID field value')];
    },
    true,
  );
  return { name: 'ID', params };
}

/** SETQUOTA SP quota-root SP "(" [setquota-resource *(SP setquota-resource)] ")" (RFC 9208 §4.1.3). */
function parseSetQuota(c: Cursor): ImapCommandBody {
  c.sp('quota root');
  const root = c.astring('quota root');
  c.sp('quota resource list');
  const items = c.list('quota resource list', () => c.astring('quota resource'), true);
  if (items.length % 2 !== 0) throw new ParseError('Expected resource name and limit pairs');
  const limits: Array<[string, number]> = [];
  for (let i = 0; i < items.length; i += 2) {
    if (!/^\d{1,15}$/.test(items[i + 1])) throw new ParseError(`Invalid quota limit ${items[i + 1]}`);
    limits.push([items[i].toUpperCase(), Number(items[i + 1])]);
  }
  return { name: 'SETQUOTA', root, limits };
}

/** STORE sequence-set [SP "(" UNCHANGEDSINCE n ")"] SP store-att-flags (RFC 9051 §6.4.6, RFC 7162 §3.1.3). */
function parseStore(c: Cursor, uid: boolean, set: SequenceSet): ImapCommandBody {
  c.sp('message data item name');
  let unchangedSince: number | null = null;
  if (c.peek() === 0x28) {
    c.list(
      'STORE modifiers',
      () => {
        const modifier = c.keyword('STORE modifier');
        if (modifier !== 'UNCHANGEDSINCE') throw new ParseError(`Unsupported STORE modifier ${modifier}`);
        c.sp('mod-sequence value after UNCHANGEDSINCE');
        unchangedSince = c.number64('mod-sequence value');
      },
      false,
    );
    c.sp('message data item name');
  }
  const item = c.keyword('message data item name');
  const m = /^([+-]?)FLAGS(\.SILENT)?$/.exec(item);
  if (!m) throw new ParseError(`Expected FLAGS, +FLAGS or -FLAGS (optionally .SILENT), got ${item}`);
  c.sp('flags');
  let flags: string[];
  if (c.peek() === 0x28) {
    flags = parseFlagList(c);
  } else {
    flags = [parseFlag(c)];
    while (c.more()) flags.push(parseFlag(c));
  }
  const op = m[1] === '+' ? 'add' : m[1] === '-' ? 'remove' : 'replace';
  return { name: 'STORE', uid, set, op, silent: m[2] !== undefined, flags, unchangedSince };
}

function withSet(c: Cursor, uid: boolean, name: 'STORE' | 'COPY' | 'MOVE' | 'UID EXPUNGE'): ImapCommandBody {
  c.sp(uid ? 'UID set' : 'sequence set');
  const set = c.seqSet(uid ? 'UID set' : 'sequence set');
  if (name === 'STORE') return parseStore(c, uid, set);
  if (name === 'UID EXPUNGE') return { name, set };
  return { name, uid, set, mailbox: mailboxArg(c) };
}

const UID_COMMANDS: Record<string, (c: Cursor) => ImapCommandBody> = {
  FETCH: (c) => parseFetch(c, true),
  SEARCH: (c) => parseSearch(c, true),
  SORT: (c) => parseSort(c, true),
  THREAD: (c) => parseThread(c, true),
  STORE: (c) => withSet(c, true, 'STORE'),
  COPY: (c) => withSet(c, true, 'COPY'),
  MOVE: (c) => withSet(c, true, 'MOVE'),
  EXPUNGE: (c) => withSet(c, true, 'UID EXPUNGE'),
  REPLACE: (c) => parseReplace(c, true),
};

const COMMANDS: Record<string, BodyParser> = {
  CAPABILITY: noArgs('CAPABILITY'),
  NOOP: noArgs('NOOP'),
  LOGOUT: noArgs('LOGOUT'),
  STARTTLS: noArgs('STARTTLS'),
  NAMESPACE: noArgs('NAMESPACE'),
  CHECK: noArgs('CHECK'),
  CLOSE: noArgs('CLOSE'),
  UNSELECT: noArgs('UNSELECT'),
  EXPUNGE: noArgs('EXPUNGE'),
  IDLE: noArgs('IDLE'),
  // CANCELUPDATE 1*(SP quoted) (RFC 5267 §4.3)
  CANCELUPDATE: (c) => {
    c.sp('search tag');
    const tags = [c.astring('search tag')];
    while (c.more()) tags.push(c.astring('search tag'));
    return { name: 'CANCELUPDATE', tags };
  },
  LOGIN: (c) => {
    c.sp('user name');
    const username = c.astring('user name');
    c.sp('password');
    return { name: 'LOGIN', username, password: c.astring('password') };
  },
  // AUTHENTICATE SP auth-type [SP (base64 / "=")] (RFC 9051 §6.2.2, RFC 4959 SASL-IR)
  AUTHENTICATE: (c) => {
    c.sp('SASL mechanism');
    const mechanism = c.keyword('SASL mechanism');
    return { name: 'AUTHENTICATE', mechanism, initialResponse: c.more() ? c.atom('initial response') : null };
  },
  // ENABLE 1*(SP capability) (RFC 5161); capability names are case-insensitive, returned upper case
  ENABLE: (c) => {
    c.sp('capability');
    const capabilities = [c.keyword('capability')];
    while (c.more()) capabilities.push(c.keyword('capability'));
    return { name: 'ENABLE', capabilities };
  },
  ID: parseId,
  // COMPRESS SP algorithm (RFC 4978 §3)
  COMPRESS: (c) => {
    c.sp('compression algorithm');
    return { name: 'COMPRESS', algorithm: c.keyword('compression algorithm') };
  },
  GETQUOTA: (c) => {
    c.sp('quota root');
    return { name: 'GETQUOTA', root: c.astring('quota root') };
  },
  GETQUOTAROOT: (c) => ({ name: 'GETQUOTAROOT', mailbox: mailboxArg(c) }),
  SETQUOTA: parseSetQuota,
  NOTIFY: parseNotify,
  GETMETADATA: parseGetMetadata,
  SETMETADATA: parseSetMetadata,
  SETACL: parseSetAcl,
  DELETEACL: parseDeleteAcl,
  GETACL: parseGetAcl,
  LISTRIGHTS: parseListRights,
  MYRIGHTS: parseMyRights,
  SELECT: parseSelect('SELECT'),
  EXAMINE: parseSelect('EXAMINE'),
  CREATE: parseCreate,
  DELETE: (c) => ({ name: 'DELETE', mailbox: mailboxArg(c) }),
  RENAME: (c) => ({ name: 'RENAME', from: mailboxArg(c, 'existing mailbox name'), to: mailboxArg(c, 'new mailbox name') }),
  SUBSCRIBE: (c) => ({ name: 'SUBSCRIBE', mailbox: mailboxArg(c) }),
  UNSUBSCRIBE: (c) => ({ name: 'UNSUBSCRIBE', mailbox: mailboxArg(c) }),
  LIST: parseList,
  LSUB: (c) => {
    const reference = mailboxArg(c, 'reference name');
    c.sp('mailbox pattern');
    return { name: 'LSUB', reference, pattern: c.listMailbox('mailbox pattern') };
  },
  STATUS: (c) => {
    const mailbox = mailboxArg(c);
    c.sp('status items');
    return { name: 'STATUS', mailbox, items: parseStatusItems(c) };
  },
  APPEND: parseAppend,
  REPLACE: (c) => parseReplace(c, false),
  SEARCH: (c) => parseSearch(c, false),
  SORT: (c) => parseSort(c, false),
  THREAD: (c) => parseThread(c, false),
  FETCH: (c) => parseFetch(c, false),
  STORE: (c) => withSet(c, false, 'STORE'),
  COPY: (c) => withSet(c, false, 'COPY'),
  MOVE: (c) => withSet(c, false, 'MOVE'),
  UID: (c) => {
    c.sp('UID command');
    const sub = c.keyword('UID command');
    const parse = UID_COMMANDS[sub];
    if (!parse) throw new ParseError(`Unknown command UID ${shown(sub)}`);
    return parse(c);
  },
};

/** A command name as echoed in BAD: a long one is cut, so a reply never carries kilobytes of client input. */
function shown(name: string): string {
  return name.length <= limits.imapMaxTagBytes ? name : `${name.slice(0, limits.imapMaxTagBytes)}...`;
}

/** tag = 1*<any ASTRING-CHAR except "+"> (RFC 9051 §9). */
export function isTagChar(b: number): boolean {
  return isAstringChar(b) && b !== 0x2b;
}

export function parseCommand(framed: FramedCommand, maxNesting: number): ParseResult {
  const c = new Cursor(framed, maxNesting);
  let tag = '*';
  try {
    const candidate = c.takeWhile(isAstringChar);
    if (candidate === '' || candidate.length > limits.imapMaxTagBytes || [...candidate].some((ch) => !isTagChar(ch.charCodeAt(0)))) {
      throw new ParseError('Invalid or missing tag');
    }
    if (c.peek() !== 0x20 && !c.atEnd()) throw new ParseError('Invalid or missing tag');
    tag = candidate;
    c.sp('command name');
    const name = c.keyword('command name');
    const parse = COMMANDS[name];
    if (!parse) throw new ParseError(`Unknown command ${shown(name)}`);
    const body = parse(c);
    c.end();
    return { ok: true, command: { tag, ...body } };
  } catch (err) {
    if (err instanceof ParseError) return { ok: false, tag, text: err.message };
    // A bug in a parser must not take the connection down with it.
    return { ok: false, tag, text: 'Internal error while parsing the command' };
  }
}
