/**
 * Differential transcripts for the extensions added after the first suite:
 * SORT and THREAD (RFC 5256, RFC 5957) over a mailbox built for them,
 * BINARY (RFC 3516) of base64 and quoted-printable parts, ESEARCH (RFC 4731)
 * and SEARCHRES (RFC 5182), WITHIN (RFC 5032), STATUS=SIZE (RFC 8438),
 * LIST-EXTENDED (RFC 5258) and LIST-STATUS (RFC 5819). Same rules as
 * differential.test.ts: every difference is in lib/known-differences.ts or
 * the test fails. Report: $TMPDIR/mailstead-differential-extensions-report.txt.
 *
 * QUOTA (GETQUOTAROOT) is not compared: the reference Dovecot runs without
 * its quota plugins, so it has no quota roots to answer with.
 */
import { after, before, test } from 'node:test';
import { Differ } from './lib/differ.js';
import { ok } from './lib/mailbox-snapshot.js';
import { type ServerPair, startPair } from './lib/pair.js';
import { BINARY_COMMANDS, BINARY_MULTIPART_COMMANDS, ESORT_COMMANDS, SORT_THREAD_COMMANDS } from './lib/thread-corpus.js';
import { ESEARCH_COMMANDS, LIST_EXTENDED_COMMANDS, WITHIN_COMMANDS } from './lib/transcripts.js';

let pair: ServerPair;
let differ: Differ;

before(async () => {
  pair = await startPair();
  differ = new Differ('mailstead-differential-extensions-report', pair.msc, pair.dvc);
});

after(async () => {
  if (differ) console.log(`# differential report: ${differ.write()}`);
  await pair?.stop();
});

async function run(t: import('node:test').TestContext, commands: string[]): Promise<void> {
  for (const command of commands) await t.test(command, (st) => differ.compare(st, command));
}

async function selectBoth(mailbox: string): Promise<void> {
  for (const c of [pair.msc, pair.dvc]) await ok(c, `SELECT ${mailbox}`);
}

test('ESEARCH returns and SEARCHRES ($) answer as Dovecot does', async (t) => {
  await selectBoth('INBOX');
  await run(t, ESEARCH_COMMANDS);
});

test('WITHIN (OLDER, YOUNGER) answers as Dovecot does', async (t) => {
  await selectBoth('INBOX');
  await run(t, WITHIN_COMMANDS);
});

test('SORT and THREAD answer as Dovecot does', async (t) => {
  await selectBoth('Threads');
  await run(t, SORT_THREAD_COMMANDS);
});

test('METADATA (RFC 5464) answers as Dovecot does: NIL for unset entries, DEPTH, MAXSIZE, server entries', async (t) => {
  await run(t, [
    'SETMETADATA INBOX (/private/comment "hello")',
    'GETMETADATA INBOX /private/comment',
    'GETMETADATA INBOX (/private/comment /shared/comment)',
    'GETMETADATA INBOX /PRIVATE/Comment',
    'SETMETADATA INBOX (/private/vendor/x/a "1" /private/vendor/x/a/b "2" /private/vendor/x/a/b/c "3" /private/vendor/x/ab "4")',
    'GETMETADATA INBOX /private/vendor/x/a',
    'GETMETADATA (DEPTH 1) INBOX /private/vendor/x/a',
    'GETMETADATA (DEPTH infinity) INBOX /private/vendor/x/a',
    'GETMETADATA (MAXSIZE 2) INBOX (/private/comment /private/vendor/x/a)',
    'SETMETADATA INBOX (/shared/comment "team")',
    'GETMETADATA INBOX (/shared/comment /private/comment)',
    'SETMETADATA INBOX (/private/comment NIL /shared/comment NIL)',
    'GETMETADATA INBOX (/shared/comment /private/comment)',
    'SETMETADATA "" (/private/vendor/x/theme "dark")',
    'GETMETADATA "" /private/vendor/x/theme',
    'GETMETADATA "" /private/comment',
    'GETMETADATA INBOX /foo/bar',
    'SETMETADATA INBOX (/private/a*b "x")',
    'GETMETADATA NoSuchMailbox /private/comment',
  ]);
});

test('ESORT (SORT RETURN) answers as Dovecot does', async (t) => {
  await selectBoth('Threads');
  await run(t, ESORT_COMMANDS);
});

test('a binary APPEND (literal8, RFC 3516 §4.4) is stored and served as Dovecot does', async (t) => {
  // A text part, a part sent "Content-Transfer-Encoding: binary" holding NUL and 8-bit octets, and a
  // binary part long enough for several base64 lines: Dovecot re-encodes such parts as base64 on APPEND.
  const blob = Buffer.alloc(200);
  for (let i = 0; i < blob.length; i++) blob[i] = (i * 37) & 0xff;
  const message = Buffer.concat([
    Buffer.from('From: a@example.org\r\nSubject: bin\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n', 'latin1'),
    Buffer.from('--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n', 'latin1'),
    Buffer.from('--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n', 'latin1'),
    Buffer.from([0x00, 0x2d, 0xe4, 0x0a, 0x0d, 0x0a, 0x0a]),
    Buffer.from('\r\n--b\r\nContent-Transfer-Encoding: binary\r\nContent-Type: application/x-data\r\n\r\n', 'latin1'),
    blob,
    Buffer.from('\r\n--b--\r\n', 'latin1'),
  ]);
  for (const c of [pair.msc, pair.dvc]) {
    await ok(c, 'CREATE Binary');
    await ok(c, `APPEND Binary ~{${message.length}+}\r\n${message.toString('latin1')}`);
  }
  await selectBoth('Binary');
  await run(t, [
    'FETCH 1 (RFC822.SIZE BODYSTRUCTURE)',
    'FETCH 1 (BODY.PEEK[])',
    'FETCH 1 (BODY.PEEK[2] BODY.PEEK[2.MIME] BODY.PEEK[3])',
    'FETCH 1 (BINARY.SIZE[2] BINARY.PEEK[2])',
    'FETCH 1 (BINARY.SIZE[3] BINARY.PEEK[3])',
  ]);
});

test('BINARY and BINARY.SIZE of encoded parts answer as Dovecot does', async (t) => {
  await selectBoth('Threads');
  await run(t, BINARY_COMMANDS);
  await selectBoth('INBOX');
  await run(t, BINARY_MULTIPART_COMMANDS);
});

/** A literal of `text` in `charset`, as the wire client writes it (latin1 string = the octets). */
function literal(text: string, charset: 'utf8' | 'latin1'): string {
  const bytes = Buffer.from(text, charset);
  return `{${bytes.length}}\r\n${bytes.toString('latin1')}`;
}

test('CONTEXT=SEARCH updates (RFC 5267 §4) answer as Dovecot does', async (t) => {
  await selectBoth('Threads');
  await run(t, [
    'SEARCH RETURN (UPDATE) FLAGGED',
    'STORE 2,5 +FLAGS (\\Flagged)',
    'UID SEARCH RETURN (UPDATE ALL) FLAGGED',
    'STORE 2 -FLAGS (\\Flagged)',
    'STORE 3 +FLAGS.SILENT (\\Flagged)',
    'STORE 1:* -FLAGS.SILENT (\\Flagged)',
  ]);
  // A new selection ends the contexts on both.
  await selectBoth('Threads');
});

test('I18NLEVEL=1 matching (i;unicode-casemap) and SEARCH CHARSET answer as Dovecot does', async (t) => {
  await selectBoth('Threads');
  await run(t, [
    `SEARCH CHARSET UTF-8 BODY ${literal('FÜR', 'utf8')}`,
    `SEARCH CHARSET UTF-8 BODY ${literal('fu\u0308r', 'utf8')}`,
    `SEARCH CHARSET ISO-8859-1 BODY ${literal('für', 'latin1')}`,
    `SEARCH CHARSET WINDOWS-1252 BODY ${literal('FüR', 'latin1')}`,
    'SEARCH CHARSET UTF-8 SUBJECT "RELEASE PLAN"',
  ]);
});

test('STATUS SIZE, LIST-EXTENDED and LIST-STATUS answer as Dovecot does', async (t) => {
  await selectBoth('Threads');
  await run(t, LIST_EXTENDED_COMMANDS);
});
