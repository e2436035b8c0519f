/**
 * fast-check generators of IMAP client input for the hostile-input
 * properties: mostly-valid commands with mutated arguments (random tags,
 * sequence sets like 0, *:1, 4294967296, huge numbers, unbalanced parens,
 * NUL and 8-bit bytes, deep nesting), and framing damage (literal sizes that
 * lie, CR without LF, bare LF).
 */
import fc from 'fast-check';

export const USER = 'prop@example.com';
export const PASSWORD = 'prop password';

/** One command: text pieces and honest synchronising literals, in order; the tag is added by `frame`. */
export type Piece = string | { literal: Buffer };
export interface GenCommand {
  pieces: Piece[];
  /** Lines the client sends after the command (IDLE's DONE): they get no tagged reply of their own. */
  then?: string[];
}

const lit = (s: string | Buffer): Piece => ({ literal: Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8') });
const cmd = (...pieces: Piece[]): GenCommand => ({ pieces });

const plain = (user: string, password: string): string => Buffer.from(`\0${user}\0${password}`).toString('base64');

export const MESSAGE = Buffer.from(
  'From: Bob <bob@example.org>\r\nTo: prop@example.com\r\nSubject: prop\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\n' +
    'Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--\r\n',
);

const seqSet = fc.oneof(
  fc.constantFrom('1', '*', '1:*', '*:1', '0', '0:*', '4294967295', '4294967296', '99999999999999999999999', '1,2,3', '3:1,*'),
  fc.constantFrom('$', '1:', ',', '1:2:3', '-1', '1.5', '00001', '1,,2', '*:*', '2:4294967295', '4294967295:1'),
  fc.tuple(fc.nat(5), fc.nat(5)).map(([a, b]) => `${a}:${b}`),
);

const mailbox = fc.oneof(
  fc.constantFrom('INBOX', 'inbox', 'Archive', 'Trash', '"with space"', 'Nope', '&Jjo-', '&', '&AGE', 'a/b/c', '"/"', '""'),
  fc.constantFrom('INBOX/child', '"../x"', '"%"', '"*"', 'Archive/', '"a\\"b"', '~', 'NIL'),
);
const mailboxPiece: fc.Arbitrary<Piece[]> = fc.oneof(
  { weight: 4, arbitrary: mailbox.map((m) => [m]) },
  { weight: 1, arbitrary: fc.constantFrom('INBOX', 'Lit\u00e9ral', 'a\r\nb', 'x\0y', '').map((m) => [lit(m)]) },
);

const flag = fc.constantFrom('\\Seen', '\\Deleted', '\\Flagged', '\\Answered', '\\Draft', '\\Recent', '\\Bogus', '$Junk', 'keyword', '\\*');
const flagList = fc.array(flag, { maxLength: 4 }).map((f) => `(${f.join(' ')})`);

const fetchAtt = fc.constantFrom(
  'FLAGS', 'UID', 'ENVELOPE', 'BODYSTRUCTURE', 'BODY', 'RFC822.SIZE', 'INTERNALDATE', 'RFC822', 'RFC822.HEADER',
  'BODY[]', 'BODY.PEEK[]', 'BODY[TEXT]', 'BODY[1]', 'BODY[1.MIME]', 'BODY[2]', 'BODY[1.2.3.4]', 'BODY[0]',
  'BODY.PEEK[HEADER.FIELDS (Subject From)]', 'BODY[HEADER.FIELDS.NOT (Date)]', 'BODY[]<0.10>', 'BODY[]<4294967295.1>',
  'BODY[]<4294967296.2>', 'BINARY[1]', 'BINARY.SIZE[1]', 'BINARY[]', 'MODSEQ', 'PREVIEW', 'SAVEDATE', 'EMAILID',
  'BODY[HEADER.FIELDS ()]', 'BODY[99999999999]', 'ALL', 'FAST', 'FULL',
);
const fetchItems = fc.oneof(
  fetchAtt,
  fc.array(fetchAtt, { minLength: 1, maxLength: 4 }).map((a) => `(${a.join(' ')})`),
  fc.constantFrom('(FLAGS) (CHANGEDSINCE 1)', '(FLAGS) (CHANGEDSINCE 0)', '(UID) (VANISHED)', '(FLAGS', 'FLAGS)', '()'),
);

const searchKey: fc.Arbitrary<string> = fc.letrec((tie) => ({
  key: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('ALL', 'SEEN', 'UNSEEN', 'DELETED', 'NEW', 'RECENT', 'LARGER 4294967296', 'SMALLER 0', 'SUBJECT "prop"'),
    fc.constantFrom('SENTBEFORE 1-Jan-2020', 'SINCE 31-Feb-2020', 'ON 1-Foo-1', 'HEADER Subject ""', 'BODY hello', 'MODSEQ 1'),
    fc.constantFrom('TEXT "\u00e9"', 'KEYWORD $Junk', 'UID 1:*', 'UID 0', 'OLDER 4294967296', 'YOUNGER 1', 'FUZZY SUBJECT x'),
    seqSet,
    fc.tuple(tie('key'), tie('key')).map(([a, b]) => `OR ${a} ${b}`),
    tie('key').map((k) => `NOT ${k}`),
    fc.array(tie('key'), { minLength: 1, maxLength: 3 }).map((k) => `(${k.join(' ')})`),
  ),
})).key;

const nested = (depth: number, inner: string): string => '('.repeat(depth) + inner + ')'.repeat(depth);

/** Commands a client might send in any state, valid or nearly so. */
export const command: fc.Arbitrary<GenCommand> = fc.oneof(
  fc.constantFrom('NOOP', 'CAPABILITY', 'NAMESPACE', 'CHECK', 'CLOSE', 'UNSELECT', 'EXPUNGE', 'STARTTLS', 'XYZZY', 'UID', 'UID XYZZY', 'LOGIN').map((c) => cmd(c)),
  fc.constantFrom(
    `LOGIN ${USER} "${PASSWORD}"`,
    `LOGIN ${USER} wrong`,
    `LOGIN "" ""`,
    `AUTHENTICATE PLAIN ${plain(USER, PASSWORD)}`,
    `AUTHENTICATE PLAIN ${plain(USER, 'nope')}`,
    'AUTHENTICATE PLAIN =',
    'AUTHENTICATE PLAIN !!!!',
    'AUTHENTICATE XOAUTH2 abc',
    'ENABLE CONDSTORE',
    'ENABLE QRESYNC',
    'ENABLE UTF8=ACCEPT',
    'ENABLE IMAP4rev2 BOGUS',
    'ID NIL',
    'ID ("name" "prop" "version" NIL)',
    'ID ("a")',
    'GETQUOTA ""',
    'GETQUOTAROOT INBOX',
    'SETQUOTA "" (STORAGE 4294967296)',
    'LIST "" *',
    'LIST "" %',
    'LIST (SUBSCRIBED RECURSIVEMATCH) "" ("*" "INBOX") RETURN (CHILDREN STATUS (MESSAGES UNSEEN SIZE))',
    'LSUB "" *',
    'SORT (DATE REVERSE SUBJECT) UTF-8 ALL',
    'SORT (ARRIVAL) US-ASCII UNSEEN',
    'SORT () UTF-8 ALL',
    'UID SORT (SIZE) UTF-8 ALL',
    'THREAD REFERENCES UTF-8 ALL',
    'THREAD ORDEREDSUBJECT UTF-8 ALL',
    'UID THREAD BOGUS UTF-8 ALL',
    'COMPRESS GZIP',
    'SELECT INBOX (QRESYNC (1 1 1:*))',
    'SELECT INBOX (QRESYNC (0 0))',
    'EXAMINE INBOX (CONDSTORE)',
    'SELECT INBOX (BOGUS)',
  ).map((c) => cmd(c)),
  fc.tuple(fc.constantFrom(USER, 'nobody@example.com'), fc.constantFrom(PASSWORD, 'x\0y', '')).map(([u, p]) => cmd('LOGIN ', lit(u), ' ', lit(p))),
  fc.tuple(fc.constantFrom('SELECT', 'EXAMINE', 'CREATE', 'DELETE', 'SUBSCRIBE', 'UNSUBSCRIBE', 'GETQUOTAROOT'), mailboxPiece).map(
    ([c, m]) => cmd(`${c} `, ...m),
  ),
  fc.tuple(mailbox, mailbox).map(([a, b]) => cmd(`RENAME ${a} ${b}`)),
  fc.tuple(mailboxPiece, fc.constantFrom('(MESSAGES UIDNEXT UNSEEN)', '(HIGHESTMODSEQ SIZE DELETED)', '()', '(BOGUS)', 'MESSAGES')).map(
    ([m, items]) => cmd('STATUS ', ...m, ` ${items}`),
  ),
  fc
    .tuple(mailbox, fc.option(flagList), fc.option(fc.constantFrom('"07-Feb-1994 21:52:25 -0800"', '"31-Feb-2020 00:00:00 +0000"', '"x"')), fc.constantFrom(MESSAGE, Buffer.alloc(0), Buffer.from('no header\r\n')))
    .map(([m, f, d, body]) => cmd(`APPEND ${m} ${f ? f + ' ' : ''}${d ? d + ' ' : ''}`, lit(body))),
  fc.tuple(fc.boolean(), seqSet, fetchItems).map(([uid, s, items]) => cmd(`${uid ? 'UID ' : ''}FETCH ${s} ${items}`)),
  fc
    .tuple(fc.boolean(), seqSet, fc.constantFrom('+FLAGS', '-FLAGS', 'FLAGS', '+FLAGS.SILENT', 'FLAGZ', '(UNCHANGEDSINCE 0) +FLAGS', '(UNCHANGEDSINCE 4294967296) FLAGS'), flagList)
    .map(([uid, s, op, f]) => cmd(`${uid ? 'UID ' : ''}STORE ${s} ${op} ${f}`)),
  fc.tuple(fc.boolean(), fc.constantFrom('', 'RETURN (MIN MAX COUNT ALL SAVE) ', 'RETURN () ', 'CHARSET UTF-8 ', 'CHARSET BOGUS '), searchKey).map(
    ([uid, pre, key]) => cmd(`${uid ? 'UID ' : ''}SEARCH ${pre}${key}`),
  ),
  fc.constantFrom('SUBJECT', 'TEXT', 'BODY').map((k) => cmd(`SEARCH CHARSET UTF-8 ${k} `, lit('pr\u00f6p'))),
  fc.integer({ min: 1, max: 60 }).map((depth) => cmd(`SEARCH ${nested(depth, 'ALL')}`)),
  fc.integer({ min: 1, max: 60 }).map((depth) => cmd(`FETCH 1 ${nested(depth, 'FLAGS')}`)),
  fc.tuple(fc.constantFrom('COPY', 'MOVE', 'UID COPY', 'UID MOVE'), seqSet, mailbox).map(([c, s, m]) => cmd(`${c} ${s} ${m}`)),
  seqSet.map((s) => cmd(`UID EXPUNGE ${s}`)),
  fc.constant({ pieces: ['IDLE'], then: ['DONE'] }),
);

/** A tag: unique per command (the index), then random tag characters (never "+", never an atom-special). */
const tagTail = fc.string({ unit: fc.constantFrom(...'abcXYZ019.-_!#&\'][<>=?@^`|~'.split('')), maxLength: 6 });

/** A command line's text may be mutated without touching its framing (no CR, LF or literal marker added). */
const textMutation = fc.oneof(
  fc.constant((s: string) => s),
  fc.constant((s: string) => s),
  fc.constant((s: string) => s.replace(/\d+/, '4294967296')),
  fc.constant((s: string) => s.replace(/\d+/, '18446744073709551616')),
  fc.constant((s: string) => s.replace(/\)/, '')),
  fc.constant((s: string) => s + ')'),
  fc.constant((s: string) => s.replace(' ', '  ')),
  fc.constant((s: string) => s.toLowerCase()),
  fc.nat().map((n) => (s: string) => s.slice(0, n % (s.length + 1))),
  fc.tuple(fc.nat(), fc.constantFrom('\0', '\u00ff', '\u00e9', '(', ')', '"', '\\', '{', '}', '*', '%', '\t', '\x7f', ' ')).map(
    ([n, ch]) =>
      (s: string) => {
        const at = n % (s.length + 1);
        return s.slice(0, at) + ch + s.slice(at);
      },
  ),
);

export interface Framed {
  bytes: Buffer;
  /** Tags that must each get exactly one tagged completion, in order. */
  tags: string[];
}

/** Serialises commands with unique tags; text pieces go through `mutate` (which must keep the framing). */
export function frame(commands: Array<{ command: GenCommand; tail: string; mutate: (s: string) => string }>): Framed {
  const parts: Buffer[] = [];
  const tags: string[] = [];
  commands.forEach(({ command, tail, mutate }, i) => {
    const tag = `${i}${tail}`;
    tags.push(tag);
    let line = `${tag} `;
    command.pieces.forEach((piece, j) => {
      if (typeof piece === 'string') {
        line += j === 0 ? mutate(piece) : piece;
      } else {
        // An honest synchronising literal; a client would wait for "+", the reader queues it either way.
        parts.push(Buffer.from(`${line}{${piece.literal.length}}\r\n`, 'latin1'), piece.literal);
        line = '';
      }
    });
    parts.push(Buffer.from(`${sanitiseTail(line)}\r\n`, 'latin1'));
    for (const extra of command.then ?? []) parts.push(Buffer.from(`${extra}\r\n`));
  });
  return { bytes: Buffer.concat(parts), tags };
}

/** A mutated line must not end in a literal marker it does not send. */
function sanitiseTail(line: string): string {
  return /~?\{\d*\+?\}?$/.test(line) ? `${line} x` : line;
}

/** Any command, LOGOUT now and then (it ends the session, so rarely). */
const anyCommand = fc.oneof({ weight: 40, arbitrary: command }, { weight: 1, arbitrary: fc.constant(cmd('LOGOUT')) });
/**
 * COMPRESS DEFLATE as well: a client must wait for its OK before sending
 * more (RFC 4978 §3), so what it pipelines behind it is dropped, and the
 * one-completion-per-command property does not apply.
 */
const anyCommandOrCompress = fc.oneof({ weight: 30, arbitrary: anyCommand }, { weight: 1, arbitrary: fc.constant(cmd('COMPRESS DEFLATE')) });

/** Usually log in and select first, so that the selected-state commands run for real. */
const opening = fc.constantFrom<GenCommand[]>(
  [],
  [cmd(`LOGIN ${USER} "${PASSWORD}"`)],
  [cmd(`LOGIN ${USER} "${PASSWORD}"`), cmd('SELECT INBOX')],
  [cmd(`LOGIN ${USER} "${PASSWORD}"`), cmd('SELECT INBOX')],
  [cmd(`LOGIN ${USER} "${PASSWORD}"`), cmd('ENABLE QRESYNC'), cmd('SELECT INBOX')],
  [cmd(`LOGIN ${USER} "${PASSWORD}"`), cmd('EXAMINE Archive')],
);
const keep = (s: string) => s;
const mutation = fc.oneof({ weight: 3, arbitrary: fc.constant(keep) }, { weight: 2, arbitrary: textMutation });

const sessionOf = (commands: fc.Arbitrary<GenCommand>): fc.Arbitrary<Framed> =>
  fc
    .tuple(opening, fc.array(fc.record({ command: commands, tail: tagTail, mutate: mutation }), { minLength: 1, maxLength: 14 }))
    .map(([open, rest]) => frame([...open.map((command) => ({ command, tail: '', mutate: keep })), ...rest]));

export const wellFramedSession = sessionOf(anyCommand);
export const wellFramedSessionWithCompress = sessionOf(anyCommandOrCompress);

/** Framing damage applied to serialised input: it may join, split or swallow commands. */
export const framingDamage = fc.oneof(
  fc.constant((b: Buffer) => b),
  fc.nat().map((n) => (b: Buffer) => replaceNth(b, '\r\n', '\r', n)),
  fc.nat().map((n) => (b: Buffer) => replaceNth(b, '\r\n', '\n', n)),
  fc.nat().map((n) => (b: Buffer) => replaceNth(b, '\r\n', '\r\r\n', n)),
  fc.tuple(fc.nat(), fc.integer({ min: -40, max: 400 })).map(([n, delta]) => (b: Buffer) => lieAboutLiteral(b, n, delta)),
  fc.tuple(fc.nat(), fc.constantFrom('{5}', '{0}', '{4294967296}', '{1099511627776}', '{70000}', '{20+}', '{5000+}', '~{3}', '{-1}', '{}')).map(
    ([n, marker]) =>
      (b: Buffer) =>
        replaceNth(b, '\r\n', `${marker}\r\n`, n),
  ),
  fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 20 })).map(([n, junk]) => (b: Buffer) => {
    const at = n % (b.length + 1);
    return Buffer.concat([b.subarray(0, at), Buffer.from(junk), b.subarray(at)]);
  }),
);

function replaceNth(b: Buffer, find: string, by: string, n: number): Buffer {
  const hits: number[] = [];
  for (let i = b.indexOf(find); i >= 0; i = b.indexOf(find, i + 1)) hits.push(i);
  if (hits.length === 0) return b;
  const at = hits[n % hits.length];
  return Buffer.concat([b.subarray(0, at), Buffer.from(by, 'latin1'), b.subarray(at + find.length)]);
}

/** Changes the size of the n-th announced literal by `delta` (at least 0). */
function lieAboutLiteral(b: Buffer, n: number, delta: number): Buffer {
  const text = b.toString('latin1');
  const markers = [...text.matchAll(/\{(\d+)\}\r\n/g)];
  if (markers.length === 0) return b;
  const m = markers[n % markers.length];
  const size = Math.max(0, Number(m[1]) + delta);
  return Buffer.from(text.slice(0, m.index) + `{${size}}\r\n` + text.slice(m.index! + m[0].length), 'latin1');
}
