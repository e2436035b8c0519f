/** SEARCH / UID SEARCH arguments (RFC 9051 §6.4.4, RFC 3501 §6.4.4, RFC 4731 RETURN, RFC 7162 MODSEQ). */
import { Cursor, ParseError } from './cursor.js';
import { parseDate } from './datetime.js';
import type { ImapCommandBody, PartialRange, SearchKey } from './types.js';

const FLAG_KEYS: Record<string, [string, boolean]> = {
  ANSWERED: ['\\Answered', true],
  UNANSWERED: ['\\Answered', false],
  DELETED: ['\\Deleted', true],
  UNDELETED: ['\\Deleted', false],
  DRAFT: ['\\Draft', true],
  UNDRAFT: ['\\Draft', false],
  FLAGGED: ['\\Flagged', true],
  UNFLAGGED: ['\\Flagged', false],
  SEEN: ['\\Seen', true],
  UNSEEN: ['\\Seen', false],
};

const HEADER_KEYS: Record<string, string> = { BCC: 'Bcc', CC: 'Cc', FROM: 'From', SUBJECT: 'Subject', TO: 'To' };

const DATE_KEYS: Record<string, [field: 'internal' | 'sent', op: 'before' | 'on' | 'since']> = {
  BEFORE: ['internal', 'before'],
  ON: ['internal', 'on'],
  SINCE: ['internal', 'since'],
  SENTBEFORE: ['sent', 'before'],
  SENTON: ['sent', 'on'],
  SENTSINCE: ['sent', 'since'],
};

/** date = date-text / DQUOTE date-text DQUOTE. */
function searchDate(c: Cursor, key: string): string {
  c.sp(`date after ${key}`);
  const text = c.peek() === 0x22 ? c.string('date') : c.atom(`date after ${key}`);
  const date = parseDate(text);
  if (date === null) throw new ParseError(`Invalid date "${text}" after ${key} (expected e.g. 1-Feb-1994)`);
  return date;
}

function stringArg(c: Cursor, key: string): string {
  c.sp(`string after ${key}`);
  return c.astring(`string after ${key}`);
}

/** MODSEQ [SP entry-name SP entry-type-req] SP mod-sequence-valzer (RFC 7162 §3.1.5). */
function modseqKey(c: Cursor): SearchKey {
  c.sp('mod-sequence value after MODSEQ');
  if (c.peek() === 0x22) {
    c.string('MODSEQ entry name');
    c.sp('MODSEQ entry type');
    const type = c.keyword('MODSEQ entry type');
    if (!['PRIV', 'SHARED', 'ALL'].includes(type)) throw new ParseError('Expected MODSEQ entry type PRIV, SHARED or ALL');
    c.sp('mod-sequence value after MODSEQ');
  }
  return { type: 'modseq', value: c.number64('mod-sequence value') };
}

function searchKey(c: Cursor): SearchKey {
  if (c.peek() === 0x28) return { type: 'and', keys: c.list('search key list', () => searchKey(c), false) };
  if (c.atSeqSet()) return { type: 'seq', set: c.seqSet('sequence set') };
  const key = c.keyword('search key');
  const flag = FLAG_KEYS[key];
  if (flag) return { type: 'flag', flag: flag[0], set: flag[1] };
  const header = HEADER_KEYS[key];
  if (header) return { type: 'header', field: header, value: stringArg(c, key) };
  const date = DATE_KEYS[key];
  if (date) return { type: 'date', field: date[0], op: date[1], date: searchDate(c, key) };
  switch (key) {
    case 'ALL':
      return { type: 'all' };
    case 'NEW':
    case 'OLD':
    case 'RECENT':
      return { type: 'recent', value: key === 'NEW' ? 'new' : key === 'OLD' ? 'old' : 'recent' };
    case 'KEYWORD':
    case 'UNKEYWORD':
      c.sp(`keyword after ${key}`);
      return { type: 'flag', flag: c.atom(`keyword after ${key}`), set: key === 'KEYWORD' };
    case 'HEADER': {
      const field = stringArg(c, 'HEADER');
      return { type: 'header', field, value: stringArg(c, 'HEADER field name') };
    }
    case 'BODY':
      return { type: 'body', value: stringArg(c, key) };
    case 'TEXT':
      return { type: 'text', value: stringArg(c, key) };
    case 'LARGER':
    case 'SMALLER':
      c.sp(`size after ${key}`);
      return { type: 'size', op: key === 'LARGER' ? 'larger' : 'smaller', value: c.number64(`size after ${key}`) };
    case 'UID':
      c.sp('sequence set after UID');
      return { type: 'uid', set: c.seqSet('UID set') };
    case 'MODSEQ':
      return modseqKey(c);
    case 'OLDER':
    case 'YOUNGER':
      // RFC 5032 §3: interval in seconds.
      c.sp(`interval after ${key}`);
      return { type: 'within', op: key === 'OLDER' ? 'older' : 'younger', seconds: c.number(`interval after ${key}`) };
    case 'EMAILID':
    case 'THREADID':
      // RFC 8474 §6: objectid = 1*255(ALPHA / DIGIT / "_" / "-").
      c.sp(`object id after ${key}`);
      return { type: 'objectid', field: key === 'EMAILID' ? 'emailid' : 'threadid', value: c.atom(`object id after ${key}`) };
    case 'SAVEDBEFORE':
    case 'SAVEDON':
    case 'SAVEDSINCE': {
      const op = key === 'SAVEDBEFORE' ? 'before' : key === 'SAVEDON' ? 'on' : 'since';
      return { type: 'savedate', op, date: searchDate(c, key) };
    }
    case 'SAVEDATESUPPORTED':
      return { type: 'savedate', op: 'supported', date: '' };
    case 'NOT': {
      c.sp('search key after NOT');
      c.enter();
      const inner = searchKey(c);
      c.leave();
      return { type: 'not', key: inner };
    }
    case 'OR': {
      c.sp('first search key after OR');
      c.enter();
      const left = searchKey(c);
      c.sp('second search key after OR');
      const right = searchKey(c);
      c.leave();
      return { type: 'or', left, right };
    }
    default:
      throw new ParseError(`Unknown search key ${key}`);
  }
}

/**
 * search = "SEARCH" [search-return-opts] SP search-program;
 * search-program = ["CHARSET" SP charset SP] search-key *(SP search-key).
 * The top-level key is always an `and` of the keys given.
 */
export function parseSearch(c: Cursor, uid: boolean): ImapCommandBody {
  c.sp('search criteria');
  let returnOptions: string[] | null = null;
  let partial: PartialRange | undefined;
  let charset: string | null = null;
  let mark = c.mark();
  if (c.peek() !== 0x28 && !c.atSeqSet() && c.keyword('search key') === 'RETURN') {
    c.sp('RETURN options');
    ({ returnOptions, partial } = parseReturnOptions(c));
    c.sp('search criteria');
    mark = c.mark();
  }
  c.restore(mark);
  if (c.peek() !== 0x28 && !c.atSeqSet() && c.keyword('search key') === 'CHARSET') {
    c.sp('charset');
    charset = c.astring('charset');
    c.sp('search criteria');
  } else {
    c.restore(mark);
  }
  return { name: 'SEARCH', uid, charset, returnOptions, ...(partial ? { partial } : {}), key: programIn(c, charset) };
}

/** Strings in a CHARSET other than UTF-8 are kept octet for octet (latin1) for the session to decode. */
export function programIn(c: Cursor, charset: string | null): SearchKey {
  if (charset === null || isUtf8Charset(charset)) return searchProgramKeys(c);
  c.stringEncoding = 'latin1';
  try {
    return searchProgramKeys(c);
  } finally {
    c.stringEncoding = 'utf8';
  }
}

/** UTF-8, and US-ASCII (a subset): the strings the parser decodes as they are. */
export function isUtf8Charset(charset: string): boolean {
  const name = charset.toUpperCase();
  return name === 'UTF-8' || name === 'US-ASCII' || name === 'UTF8';
}

/** "(" [return-opt *(SP return-opt)] ")" after RETURN (RFC 4731, RFC 5267 ESORT, RFC 9394 PARTIAL range). */
export function parseReturnOptions(c: Cursor): { returnOptions: string[]; partial?: PartialRange } {
  let partial: PartialRange | undefined;
  const returnOptions = c.list(
    'RETURN options',
    () => {
      const option = c.keyword('RETURN option');
      if (option === 'PARTIAL') {
        if (partial) throw new ParseError('PARTIAL given twice');
        c.sp('partial range');
        partial = partialRange(c);
      }
      return option;
    },
    true,
  );
  return partial ? { returnOptions, partial } : { returnOptions };
}

const PARTIAL_RANGE = /^(-?)([1-9][0-9]{0,9}):(-?)([1-9][0-9]{0,9})$/;

/**
 * partial-range = partial-range-first / partial-range-last (RFC 9394 §3.1): "n:m" counts results from the
 * first, "-n:-m" from the last (-1 is the last). Returned with the smaller magnitude first ("4:2" is "2:4").
 */
function partialRange(c: Cursor): PartialRange {
  const text = c.takeWhile((b) => b === 0x2d || b === 0x3a || (b >= 0x30 && b <= 0x39));
  const m = PARTIAL_RANGE.exec(text);
  if (!m || m[1] !== m[3]) throw new ParseError(`Invalid partial range "${text.slice(0, 30)}" (expected e.g. 1:100 or -1:-100)`);
  const a = Number(m[2]);
  const b = Number(m[4]);
  if (a > 0xffffffff || b > 0xffffffff) throw new ParseError('Partial range number out of range');
  const sign = m[1] === '-' ? -1 : 1;
  return { first: sign * Math.min(a, b), last: sign * Math.max(a, b) };
}

/** search-key *(SP search-key) to the end of the command, as one `and` key (also used by SORT and THREAD). */
export function searchProgramKeys(c: Cursor): SearchKey {
  const keys = [searchKey(c)];
  while (c.more()) keys.push(searchKey(c));
  return { type: 'and', keys };
}
