import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandReader, type ReaderEvent } from './reader.js';
import type { ImapCommand } from './types.js';

const OPTS = { maxLineBytes: 8192, maxLiteralBytes: 1024, maxAppendLiteralBytes: 1 << 20, maxNesting: 16 };

/** All events for the input, fed whole and byte by byte (must agree). Literals must be announced {n+}. */
function read(input: string): ReaderEvent[] {
  const run = (chunks: Buffer[]): ReaderEvent[] => {
    const reader = new CommandReader(OPTS);
    const out: ReaderEvent[] = [];
    for (const c of chunks) {
      reader.push(c);
      for (let e = reader.next(); e; e = reader.next()) out.push(e);
    }
    return out;
  };
  const bytes = Buffer.from(input, 'utf8');
  const whole = run([bytes]);
  assert.deepEqual(run([...bytes].map((b) => Buffer.from([b]))), whole);
  return whole.filter((e) => e.type !== 'continue');
}

function cmd(line: string): ImapCommand {
  const ev = read(line + '\r\n');
  assert.equal(ev.length, 1, JSON.stringify(ev));
  if (ev[0].type !== 'command') assert.fail(`expected a command for ${JSON.stringify(line)}, got ${JSON.stringify(ev[0])}`);
  return ev[0].command;
}

function bad(line: string, text?: RegExp): void {
  const ev = read(line + '\r\n');
  assert.equal(ev.length, 1);
  assert.equal(ev[0].type, 'bad', `expected BAD for ${JSON.stringify(line)}, got ${JSON.stringify(ev[0])}`);
  if (text && ev[0].type === 'bad') assert.match(ev[0].text, text);
}

test('commands without arguments, case-insensitive', () => {
  for (const name of ['CAPABILITY', 'NOOP', 'LOGOUT', 'STARTTLS', 'NAMESPACE', 'CHECK', 'CLOSE', 'UNSELECT', 'EXPUNGE', 'IDLE']) {
    assert.deepEqual(cmd(`t1 ${name.toLowerCase()}`), { tag: 't1', name });
    bad(`t1 ${name} extra`, /Unexpected extra arguments/);
  }
});

test('LOGIN with atoms, quoted strings and literals', () => {
  assert.deepEqual(cmd('a001 LOGIN SMITH SESAME'), { tag: 'a001', name: 'LOGIN', username: 'SMITH', password: 'SESAME' });
  assert.deepEqual(cmd('a LOGIN "fred smith" "p\\\\a\\"ss"'), { tag: 'a', name: 'LOGIN', username: 'fred smith', password: 'p\\a"ss' });
  assert.deepEqual(cmd('a LOGIN {5+}\r\njürg {3+}\r\n ]x'), { tag: 'a', name: 'LOGIN', username: 'jürg', password: ' ]x' });
  assert.deepEqual(cmd('a LOGIN bob pa]ss'), { tag: 'a', name: 'LOGIN', username: 'bob', password: 'pa]ss' });
  bad('a LOGIN bob', /Missing password/);
  bad('a LOGIN', /Missing user name/);
  bad('a LOGIN "bob\\n" x', /Invalid escape/);
  bad('a LOGIN bob  x', /Expected password/);
  bad('a LOGIN (bob) x', /Expected user name/);
});

test('AUTHENTICATE with and without SASL-IR', () => {
  assert.deepEqual(cmd('a AUTHENTICATE plain'), { tag: 'a', name: 'AUTHENTICATE', mechanism: 'PLAIN', initialResponse: null });
  assert.deepEqual(cmd('a AUTHENTICATE PLAIN AGJvYgBwdw=='), { tag: 'a', name: 'AUTHENTICATE', mechanism: 'PLAIN', initialResponse: 'AGJvYgBwdw==' });
  assert.deepEqual(cmd('a AUTHENTICATE PLAIN ='), { tag: 'a', name: 'AUTHENTICATE', mechanism: 'PLAIN', initialResponse: '=' });
  bad('a AUTHENTICATE', /SASL mechanism/);
});

test('ENABLE and ID', () => {
  assert.deepEqual(cmd('a ENABLE condstore UTF8=ACCEPT'), { tag: 'a', name: 'ENABLE', capabilities: ['CONDSTORE', 'UTF8=ACCEPT'] });
  bad('a ENABLE', /capability/);
  assert.deepEqual(cmd('a ID NIL'), { tag: 'a', name: 'ID', params: null });
  assert.deepEqual(cmd('a ID ("name" "sodr" "version" NIL)'), { tag: 'a', name: 'ID', params: [['name', 'sodr'], ['version', null]] });
  assert.deepEqual(cmd('a ID ()'), { tag: 'a', name: 'ID', params: [] });
  bad('a ID ("name")', /ID field value/);
  bad('a ID foo', /ID parameter list or NIL/);
});

test('SELECT / EXAMINE with CONDSTORE', () => {
  assert.deepEqual(cmd('A142 SELECT INBOX'), { tag: 'A142', name: 'SELECT', mailbox: 'INBOX', condstore: false });
  assert.deepEqual(cmd('a examine "Entw&APw-rfe" (condstore)'), { tag: 'a', name: 'EXAMINE', mailbox: 'Entw&APw-rfe', condstore: true });
  // RFC 7162 §3.2.5 QRESYNC (uidvalidity modseq [known-uids] [(known-seqs known-uids)]).
  assert.deepEqual(cmd('a SELECT INBOX (QRESYNC (1 2))'), {
    tag: 'a', name: 'SELECT', mailbox: 'INBOX', condstore: false,
    qresync: { uidValidity: 1, modSeq: 2, knownUids: null, seqMatch: null },
  });
  assert.deepEqual(cmd('A02 SELECT INBOX (QRESYNC (67890007 9006011519404 41:211,214:541))').qresync, {
    uidValidity: 67890007, modSeq: 9006011519404, knownUids: [{ from: 41, to: 211 }, { from: 214, to: 541 }], seqMatch: null,
  });
  assert.deepEqual(cmd('B04 SELECT INBOX (QRESYNC (67890007 9006011519404 1:29997 (5000,7500 15000,22500)))').qresync, {
    uidValidity: 67890007, modSeq: 9006011519404, knownUids: [{ from: 1, to: 29997 }],
    seqMatch: { seqs: [{ from: 5000, to: 5000 }, { from: 7500, to: 7500 }], uids: [{ from: 15000, to: 15000 }, { from: 22500, to: 22500 }] },
  });
  assert.deepEqual(cmd('a EXAMINE x (QRESYNC (3 9 (1 4)) CONDSTORE)').qresync!.seqMatch, { seqs: [{ from: 1, to: 1 }], uids: [{ from: 4, to: 4 }] });
  bad('a SELECT INBOX (QRESYNC (1 0))', /must not be zero/);
  bad('a SELECT INBOX (QRESYNC (1))', /mod-sequence/);
  bad('a SELECT INBOX (FOO)', /Unsupported SELECT parameter FOO/);
  bad('a SELECT', /Missing mailbox name/);
});

test('CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE', () => {
  assert.deepEqual(cmd('a CREATE owatagusiam/'), { tag: 'a', name: 'CREATE', mailbox: 'owatagusiam/', specialUse: [] });
  assert.deepEqual(cmd('a CREATE MySent (USE (\\sent \\Archive))'), { tag: 'a', name: 'CREATE', mailbox: 'MySent', specialUse: ['\\Sent', '\\Archive'] });
  bad('a CREATE x (FOO)', /Unsupported CREATE parameter FOO/);
  assert.deepEqual(cmd('a DELETE "blurdybloop"'), { tag: 'a', name: 'DELETE', mailbox: 'blurdybloop' });
  assert.deepEqual(cmd('a RENAME blurdybloop sarasoop'), { tag: 'a', name: 'RENAME', from: 'blurdybloop', to: 'sarasoop' });
  bad('a RENAME x', /Missing new mailbox name/);
  assert.deepEqual(cmd('a SUBSCRIBE #news.comp.mail.mime'), { tag: 'a', name: 'SUBSCRIBE', mailbox: '#news.comp.mail.mime' });
  assert.deepEqual(cmd('a UNSUBSCRIBE {3+}\r\na b'), { tag: 'a', name: 'UNSUBSCRIBE', mailbox: 'a b' });
});

test('LIST basic and RFC 5258 extended', () => {
  const base = { tag: 'a', name: 'LIST', selectOptions: [], returnOptions: [], returnStatus: null };
  assert.deepEqual(cmd('a LIST "" *'), { ...base, reference: '', patterns: ['*'] });
  assert.deepEqual(cmd('a LIST ~/Mail/ %'), { ...base, reference: '~/Mail/', patterns: ['%'] });
  assert.deepEqual(cmd('a LIST "" INBOX/%/x*'), { ...base, reference: '', patterns: ['INBOX/%/x*'] });
  assert.deepEqual(cmd('a LIST (SUBSCRIBED) "" ("a" "b") RETURN (CHILDREN SPECIAL-USE STATUS (MESSAGES UNSEEN))'), {
    ...base,
    reference: '',
    patterns: ['a', 'b'],
    selectOptions: ['SUBSCRIBED'],
    returnOptions: ['CHILDREN', 'SPECIAL-USE'],
    returnStatus: ['MESSAGES', 'UNSEEN'],
  });
  assert.deepEqual(cmd('a LIST () "" "%" return ()'), { ...base, reference: '', patterns: ['%'] });
  bad('a LIST "" * FOO (x)', /Expected RETURN/);
  bad('a LIST ""', /Missing mailbox pattern/);
  bad('a LIST "" ()', /Empty mailbox patterns/);
  bad('a LIST "" * RETURN (STATUS (BOGUS))', /Unknown status item BOGUS/);
});

test('LSUB and STATUS', () => {
  assert.deepEqual(cmd('a LSUB "#news." "comp.mail.*"'), { tag: 'a', name: 'LSUB', reference: '#news.', pattern: 'comp.mail.*' });
  assert.deepEqual(cmd('A042 STATUS blurdybloop (UIDNEXT MESSAGES highestmodseq SIZE DELETED)'), {
    tag: 'A042',
    name: 'STATUS',
    mailbox: 'blurdybloop',
    items: ['UIDNEXT', 'MESSAGES', 'HIGHESTMODSEQ', 'SIZE', 'DELETED'],
  });
  bad('a STATUS x ()', /Empty status items/);
  bad('a STATUS x (MESSAGES', /"\)" to end status items/);
});

test('REPLACE and UID REPLACE (RFC 8508): a number, a mailbox and one append message', () => {
  assert.deepEqual(cmd('a REPLACE 4 Drafts (\\Seen) {1+}\r\nx'), {
    tag: 'a',
    name: 'REPLACE',
    uid: false,
    target: 4,
    mailbox: 'Drafts',
    message: { flags: ['\\Seen'], content: Buffer.from('x') },
  });
  const u = cmd('b UID REPLACE 2000 Drafts ~{1+}\r\ny');
  assert.ok(u.name === 'REPLACE' && u.uid && u.target === 2000 && u.message.binary === true);
  bad('c REPLACE 0 Drafts {1+}\r\nx', /sequence number/);
  bad('c REPLACE 1 Drafts {1+}\r\nx {1+}\r\ny', /./);
});

test('APPEND: single, with flags and date, MULTIAPPEND, literal8', () => {
  const msg = 'Date: Mon, 7 Feb 1994 21:52:25 -0800\r\nSubject: x\r\n\r\nHello Joe\r\n';
  const a = cmd(`A003 APPEND saved-messages (\\Seen) {${Buffer.byteLength(msg)}+}\r\n${msg}`);
  assert.ok(a.name === 'APPEND');
  assert.equal(a.mailbox, 'saved-messages');
  assert.deepEqual(a.messages, [{ flags: ['\\Seen'], content: Buffer.from(msg) }]);

  const m = cmd('a APPEND INBOX () "17-Jul-1996 02:44:25 -0700" {2+}\r\nab "01-Jan-2020 00:00:00 +0000" ~{3+}\r\nc\x00d (\\Draft $Fwd) {1+}\r\ne');
  assert.ok(m.name === 'APPEND');
  assert.deepEqual(m.messages, [
    { flags: [], internalDate: new Date(Date.UTC(1996, 6, 17, 9, 44, 25)), content: Buffer.from('ab') },
    // RFC 3516 §4.4: the literal8 is marked, so APPEND knows the client sent binary content.
    { flags: [], internalDate: new Date(Date.UTC(2020, 0, 1)), content: Buffer.from('c\x00d'), binary: true },
    { flags: ['\\Draft', '$Fwd'], content: Buffer.from('e') },
  ]);
  bad('a APPEND INBOX hello', /Expected message as a literal/);
  bad('a APPEND INBOX "hello" {1+}\r\nx', /Invalid date-time/);
  bad('a APPEND INBOX', /Missing message literal/);
  bad('a APPEND INBOX "31-Feb-2020 00:00:00 +0000" {1+}\r\nx', /Invalid date-time/);
  bad('a LOGIN ~{3+}\r\nabc x', /literal8/);
});

test('EXPUNGE, UID EXPUNGE, COPY, MOVE', () => {
  assert.deepEqual(cmd('a UID EXPUNGE 3000:3002,4000'), { tag: 'a', name: 'UID EXPUNGE', set: [{ from: 3000, to: 3002 }, { from: 4000, to: 4000 }] });
  assert.deepEqual(cmd('A003 COPY 2:4 MEETING'), { tag: 'A003', name: 'COPY', uid: false, set: [{ from: 2, to: 4 }], mailbox: 'MEETING' });
  assert.deepEqual(cmd('a uid move 42:* "Trash"'), { tag: 'a', name: 'MOVE', uid: true, set: [{ from: 42, to: '*' }], mailbox: 'Trash' });
  bad('a UID FROB 1', /Unknown command UID FROB/);
  bad('a COPY 0 x', /must not be zero/);
  bad('a COPY 1: x', /Expected sequence set/);
  bad('a COPY 1,,2 x', /Expected sequence set/);
  bad('a COPY 4294967296 x', /out of range/);
  bad('a COPY $,1 x', /Invalid sequence set/);
  assert.deepEqual(cmd('a COPY $ x'), { tag: 'a', name: 'COPY', uid: false, set: '$', mailbox: 'x' });
  bad('a COPY 1x x', /Invalid sequence set/);
});

test('STORE forms (RFC 9051 §6.4.6, RFC 7162 UNCHANGEDSINCE)', () => {
  const base = { tag: 'a', name: 'STORE', uid: false, set: [{ from: 2, to: 4 }], silent: false, unchangedSince: null };
  assert.deepEqual(cmd('a STORE 2:4 +FLAGS (\\Deleted)'), { ...base, op: 'add', flags: ['\\Deleted'] });
  assert.deepEqual(cmd('a STORE 2:4 -flags.silent \\seen $Junk'), { ...base, op: 'remove', silent: true, flags: ['\\Seen', '$Junk'] });
  assert.deepEqual(cmd('a STORE 2:4 FLAGS ()'), { ...base, op: 'replace', flags: [] });
  assert.deepEqual(cmd('a UID STORE 2:4 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)'), {
    ...base,
    uid: true,
    op: 'add',
    silent: true,
    flags: ['\\Deleted'],
    unchangedSince: 320162338,
  });
  bad('a STORE 1 XFLAGS (\\Seen)', /Expected FLAGS/);
  bad('a STORE 1 FLAGS', /Missing flags/);
  bad('a STORE 1 FLAGS (\\Seen', /"\)" to end flag list/);
  bad('a STORE 1 FLAGS (\\*)', /flag/);
});

test('unknown commands and tags', () => {
  bad('a XYZZY', /^Unknown command XYZZY$/);
  bad('a+ NOOP', /Invalid or missing tag/);
  bad('"a" NOOP', /Invalid or missing tag/);
});

test('RFC 9051 §8 sample session, pipelined in one packet', () => {
  const ev = read('a001 login mrc secret\r\na002 select inbox\r\na003 fetch 12 full\r\na004 fetch 12 body[header]\r\na005 store 12 +flags \\deleted\r\na006 logout\r\n');
  assert.deepEqual(
    ev.map((e) => (e.type === 'command' ? `${e.command.tag} ${e.command.name}` : e.type)),
    ['a001 LOGIN', 'a002 SELECT', 'a003 FETCH', 'a004 FETCH', 'a005 STORE', 'a006 LOGOUT'],
  );
  const store = ev[4];
  assert.ok(store.type === 'command' && store.command.name === 'STORE');
  assert.deepEqual([store.command.op, store.command.flags], ['add', ['\\Deleted']]);
});
