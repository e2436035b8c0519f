import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { atomList, encodeResponse, encodeValue } from './encoder.js';
import { CommandReader } from './reader.js';
import type { EncodeOptions, ImapResponse } from './types.js';

const RFC3501: EncodeOptions = { utf8: false };
const UTF8: EncodeOptions = { utf8: true };

const wire = (r: ImapResponse, opts = RFC3501): string => encodeResponse(r, opts).toString('utf8');

test('status responses with and without codes (RFC 9051 §7.1)', () => {
  assert.equal(wire({ type: 'status', tag: 'a1', status: 'OK', text: 'LOGIN completed' }), 'a1 OK LOGIN completed\r\n');
  assert.equal(
    wire({ type: 'status', tag: '*', status: 'OK', code: { name: 'UIDVALIDITY', value: 3857529045 }, text: 'UIDs valid' }),
    '* OK [UIDVALIDITY 3857529045] UIDs valid\r\n',
  );
  assert.equal(
    wire({ type: 'status', tag: 'A003', status: 'OK', code: { name: 'APPENDUID', value: '38505 3955' }, text: 'APPEND completed' }),
    'A003 OK [APPENDUID 38505 3955] APPEND completed\r\n',
  );
  assert.equal(
    wire({ type: 'status', tag: '*', status: 'OK', code: { name: 'PERMANENTFLAGS', value: atomList(['\\Deleted', '\\Seen', '\\*']) }, text: 'Limited' }),
    '* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n',
  );
  assert.equal(wire({ type: 'status', tag: 'a', status: 'NO', code: { name: 'TRYCREATE' }, text: 'no such\r\nmailbox' }), 'a NO [TRYCREATE] no such mailbox\r\n');
  assert.equal(wire({ type: 'status', tag: '*', status: 'BYE', text: '' }), '* BYE BYE\r\n');
  assert.equal(wire({ type: 'status', tag: '*', status: 'PREAUTH', text: 'hi' }), '* PREAUTH hi\r\n');
  assert.equal(wire({ type: 'continuation', text: '' }), '+ \r\n');
  assert.equal(wire({ type: 'continuation', text: 'Ready for literal data' }), '+ Ready for literal data\r\n');
});

test('simple untagged data', () => {
  assert.equal(wire({ type: 'capability', capabilities: ['IMAP4rev1', 'IMAP4rev2', 'STARTTLS', 'AUTH=PLAIN'] }), '* CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS AUTH=PLAIN\r\n');
  assert.equal(wire({ type: 'exists', count: 23 }), '* 23 EXISTS\r\n');
  assert.equal(wire({ type: 'recent', count: 0 }), '* 0 RECENT\r\n');
  assert.equal(wire({ type: 'expunge', seq: 3 }), '* 3 EXPUNGE\r\n');
  assert.equal(wire({ type: 'flags', flags: ['\\Answered', '\\Flagged', '$Junk'] }), '* FLAGS (\\Answered \\Flagged $Junk)\r\n');
  assert.equal(wire({ type: 'enabled', capabilities: ['CONDSTORE'] }), '* ENABLED CONDSTORE\r\n');
  assert.equal(wire({ type: 'search', ids: [2, 84, 882] }), '* SEARCH 2 84 882\r\n');
  assert.equal(wire({ type: 'search', ids: [] }), '* SEARCH\r\n');
  assert.equal(wire({ type: 'search', ids: [2, 5], modSeq: 917162500 }), '* SEARCH 2 5 (MODSEQ 917162500)\r\n');
  assert.equal(wire({ type: 'untagged', values: [{ atom: 'OK' }, 'x', 3, null] }), '* OK "x" 3 NIL\r\n');
});

test('LIST / LSUB / STATUS write mailbox names in modified UTF-7 unless UTF-8 is on', () => {
  const list: ImapResponse = { type: 'list', command: 'LIST', attributes: ['\\HasNoChildren', '\\Drafts'], delimiter: '/', mailbox: 'Entwürfe' };
  assert.equal(wire(list), '* LIST (\\HasNoChildren \\Drafts) "/" "Entw&APw-rfe"\r\n');
  assert.equal(wire(list, UTF8), '* LIST (\\HasNoChildren \\Drafts) "/" "Entwürfe"\r\n');
  assert.equal(wire({ type: 'list', command: 'LSUB', attributes: [], delimiter: null, mailbox: 'INBOX' }), '* LSUB () NIL "INBOX"\r\n');
  assert.equal(wire({ type: 'list', command: 'LIST', attributes: [], delimiter: '\\', mailbox: 'a"b' }), '* LIST () "\\\\" "a\\"b"\r\n');
  assert.equal(
    wire({ type: 'list', command: 'LIST', attributes: ['\\Subscribed'], delimiter: '/', mailbox: 'Foo', extended: ['CHILDINFO', ['SUBSCRIBED']] }),
    '* LIST (\\Subscribed) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))\r\n',
  );
  assert.equal(
    wire({ type: 'status-data', mailbox: 'Entwürfe', items: [['MESSAGES', 231], ['UIDNEXT', 44292]] }),
    '* STATUS "Entw&APw-rfe" (MESSAGES 231 UIDNEXT 44292)\r\n',
  );
});

test('ESEARCH, ID, NAMESPACE', () => {
  assert.equal(wire({ type: 'esearch', tag: 'a1', uid: true, data: [['COUNT', 3], ['ALL', '1:3,5']] }), '* ESEARCH (TAG "a1") UID COUNT 3 ALL 1:3,5\r\n');
  assert.equal(wire({ type: 'esearch', tag: 'a2', uid: false, data: [] }), '* ESEARCH (TAG "a2")\r\n');
  assert.equal(wire({ type: 'id', params: [['name', 'Mailstead'], ['vendor', null]] }), '* ID ("name" "Mailstead" "vendor" NIL)\r\n');
  assert.equal(wire({ type: 'id', params: null }), '* ID NIL\r\n');
  assert.equal(wire({ type: 'namespace', personal: [['', '/']], other: null, shared: [['Geteilt/ü', '/']] }), '* NAMESPACE (("" "/")) NIL (("Geteilt/&APw-" "/"))\r\n');
});

test('FETCH items: flags as atoms, literals for buffers, nested structures', () => {
  assert.equal(
    wire({ type: 'fetch', seq: 12, items: [['UID', 4], ['FLAGS', ['\\Seen', '$Fwd']], ['BODY[]', Buffer.from('hello')]] }),
    '* 12 FETCH (UID 4 FLAGS (\\Seen $Fwd) BODY[] {5}\r\nhello)\r\n',
  );
  assert.equal(
    wire({ type: 'fetch', seq: 1, items: [['INTERNALDATE', '17-Jul-1996 02:44:25 -0700'], ['MODSEQ', [624140003]], ['ENVELOPE', [null, 'Grüße', [['Fred', null, 'fred', 'example.com']]]]] }),
    '* 1 FETCH (INTERNALDATE "17-Jul-1996 02:44:25 -0700" MODSEQ (624140003) ENVELOPE (NIL {7}\r\nGrüße (("Fred" NIL "fred" "example.com"))))\r\n',
  );
});

test('encodeValue: quoting rules', () => {
  const v = (x: Parameters<typeof encodeValue>[0], o = RFC3501) => encodeValue(x, o).toString('utf8');
  assert.equal(v(null), 'NIL');
  assert.equal(v(42), '42');
  assert.equal(v(2n ** 63n - 1n), '9223372036854775807');
  assert.equal(v(''), '""');
  assert.equal(v('a "b" \\c'), '"a \\"b\\" \\\\c"');
  assert.equal(v('two\r\nlines'), '{10}\r\ntwo\r\nlines');
  assert.equal(v('é'), '{2}\r\né');
  assert.equal(v('é', UTF8), '"é"');
  assert.equal(v('x'.repeat(2000)).slice(0, 8), '{2000}\r\n');
  assert.equal(v(Buffer.from('ab')), '{2}\r\nab');
  assert.equal(v([1, [{ atom: 'X' }, []], 'y']), '(1 (X ()) "y")');
  assert.throws(() => v({ atom: 'A\r\nB' }), TypeError);
  assert.throws(() => v(-1), TypeError);
});

/** Parses `encoded` back as the password of a LOGIN command. */
function parseAstring(encoded: Buffer): string {
  const reader = new CommandReader({ maxLineBytes: 1 << 16, maxLiteralBytes: 1 << 16, maxAppendLiteralBytes: 1 << 16, maxNesting: 8 });
  reader.push(Buffer.concat([Buffer.from('t LOGIN u '), encoded, Buffer.from('\r\n')]));
  for (let e = reader.next(); e; e = reader.next()) {
    if (e.type === 'command' && e.command.name === 'LOGIN') return e.command.password;
    if (e.type === 'bad') assert.fail(`BAD for ${JSON.stringify(encoded.toString())}: ${e.text}`);
  }
  return assert.fail('no command');
}

test('encode -> parse as astring is the identity', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 1500 }), fc.boolean(), (s, utf8) => {
      fc.pre(!/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s)); // lone surrogates have no UTF-8 form
      assert.equal(parseAstring(encodeValue(s, { utf8 })), s);
    }),
    { numRuns: 300 },
  );
});
