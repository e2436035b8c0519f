/** METADATA (RFC 5464): transcripts after the RFC's examples (§4.2, §4.3), limits, and the mailbox's lifecycle. */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { METADATA_LIMITS } from '../domain/metadata.js';
import { createHarness, type Harness } from './harness.test.js';

let h: Harness;
before(async () => {
  h = await createHarness();
});
after(() => h.close());

const okLine = /(^|\r\n)t\d+ OK [^\r]*\r\n$/;

it('SETMETADATA stores a value (a literal across two lines), GETMETADATA returns it, NIL removes it (RFC 5464 §4.3 examples)', async () => {
  const c = await h.open({ login: true });
  const comment = 'My new comment across\r\ntwo lines.';
  assert.match(await c.cmd(`SETMETADATA INBOX (/private/comment {${comment.length}+}\r\n${comment})`), okLine);
  assert.equal(
    await c.cmd('GETMETADATA INBOX /private/comment', 'a'),
    `* METADATA INBOX (/private/comment {${comment.length}}\r\n${comment})\r\na OK GETMETADATA completed\r\n`,
  );
  // Names compare case-insensitively and are returned in lower case.
  assert.match(await c.cmd('GETMETADATA "INBOX" (/PRIVATE/Comment)'), /^\* METADATA INBOX \(\/private\/comment \{33\}\r\n/);
  assert.match(await c.cmd('SETMETADATA INBOX (/private/comment NIL)'), okLine);
  // An entry asked for by name that has no value is answered NIL (as Dovecot does).
  assert.equal(await c.cmd('GETMETADATA INBOX /private/comment', 'b'), '* METADATA INBOX (/private/comment NIL)\r\nb OK GETMETADATA completed\r\n');
});

it('server entries live under mailbox "" and apart from every mailbox', async () => {
  const c = await h.open({ login: true });
  assert.match(await c.cmd('SETMETADATA "" (/shared/comment "Shared comment" /private/vendor/example/theme "dark")'), okLine);
  const r = await c.cmd('GETMETADATA "" (/shared/comment /private/vendor/example/theme)');
  assert.match(r, /^\* METADATA "" \(\/shared\/comment \{14\}\r\nShared comment \/private\/vendor\/example\/theme \{4\}\r\ndark\)\r\n/);
  assert.match(await c.cmd('GETMETADATA INBOX /shared/comment'), /^\* METADATA INBOX \(\/shared\/comment NIL\)\r\n/);
});

it('DEPTH 0, 1 and infinity return the entry, its children, all its descendants (RFC 5464 §4.2.2)', async () => {
  const c = await h.open({ login: true });
  await c.cmd('CREATE Depth');
  assert.match(await c.cmd('SETMETADATA Depth (/shared/a "1" /shared/a/b "2" /shared/a/b/c "3" /shared/ab "4")'), okLine);
  const entries = async (options: string) => {
    const r = await c.cmd(`GETMETADATA ${options}Depth /shared/a`);
    assert.match(r, okLine);
    return [...r.matchAll(/(\/shared\/[a-z/]+) \{1\}\r\n(\d)/g)].map((m) => `${m[1]}=${m[2]}`);
  };
  assert.deepEqual(await entries(''), ['/shared/a=1']);
  assert.deepEqual(await entries('(DEPTH 0) '), ['/shared/a=1']);
  assert.deepEqual(await entries('(DEPTH 1) '), ['/shared/a=1', '/shared/a/b=2']);
  assert.deepEqual(await entries('(DEPTH infinity) '), ['/shared/a=1', '/shared/a/b=2', '/shared/a/b/c=3']);
  // The bare prefix lists what is below it.
  const all = await c.cmd('GETMETADATA (DEPTH infinity) Depth /shared');
  assert.match(all, /^\* METADATA Depth \(\/shared\/a \{1\}\r\n1 \/shared\/a\/b \{1\}\r\n2 \/shared\/a\/b\/c \{1\}\r\n3 \/shared\/ab \{1\}\r\n4\)\r\n/);
});

it('MAXSIZE leaves out longer values and names the longest in [METADATA LONGENTRIES n] (RFC 5464 §4.2.1)', async () => {
  const c = await h.open({ login: true });
  const long = 'x'.repeat(2199);
  assert.match(await c.cmd(`SETMETADATA INBOX (/private/long {${long.length}+}\r\n${long} /private/short "ok")`), okLine);
  const r = await c.cmd('GETMETADATA (MAXSIZE 1024) INBOX (/private/long /private/short)', 'm');
  assert.equal(r, '* METADATA INBOX (/private/short {2}\r\nok)\r\nm OK [METADATA LONGENTRIES 2199] GETMETADATA completed\r\n');
  assert.match(await c.cmd('GETMETADATA (MAXSIZE 4096 DEPTH 1) INBOX /private/long'), new RegExp(`\\{2199\\}\\r\\n${long}\\)\\r\\nt\\d+ OK GETMETADATA`));
  await c.cmd('SETMETADATA INBOX (/private/long NIL /private/short NIL)');
});

it('refuses a value over the limit with [METADATA MAXSIZE n] and stores nothing of the command', async () => {
  const c = await h.open({ login: true });
  const big = 'y'.repeat(METADATA_LIMITS.maxValueBytes + 1);
  const r = await c.cmd(`SETMETADATA INBOX (/private/first "kept?" /private/big {${big.length}+}\r\n${big})`);
  assert.match(r, new RegExp(`t\\d+ NO \\[METADATA MAXSIZE ${METADATA_LIMITS.maxValueBytes}\\] `));
  assert.match(await c.cmd('GETMETADATA INBOX /private/first'), /\(\/private\/first NIL\)/);
});

it('refuses more entries than an account may hold with [METADATA TOOMANY], all or nothing', async () => {
  const c = await h.open({ login: true });
  await c.cmd('CREATE Many');
  const n = METADATA_LIMITS.maxEntriesPerAccount;
  const pairs = Array.from({ length: n + 1 }, (_, i) => `/private/e${i} "${i}"`).join(' ');
  assert.match(await c.cmd(`SETMETADATA Many (${pairs})`), /t\d+ NO \[METADATA TOOMANY\] /);
  assert.match(await c.cmd('GETMETADATA Many /private/e0'), /\(\/private\/e0 NIL\)/);
  // Removing entries is always possible, and frees room.
  assert.match(await c.cmd(`SETMETADATA Many (/private/e0 NIL)`), okLine);
});

it('answers BAD for malformed entry names (RFC 5464 §3.2)', async () => {
  const c = await h.open({ login: true });
  for (const entry of ['/foo/bar', 'comment', '/shared//comment', '/shared/comment/', '/shared/comm*nt', '/shared/comm%nt', '"/shared/c\u00f6mment"']) {
    assert.match(await c.cmd(`GETMETADATA INBOX ${entry}`), /t\d+ BAD /, entry);
    assert.match(await c.cmd(`SETMETADATA INBOX (${entry} "v")`), /t\d+ BAD /, entry);
    await c.cmd('NOOP'); // a run of BADs would end the session (limits.maxBadCommands)
  }
  assert.match(await c.cmd('SETMETADATA INBOX (/shared "v")'), /t\d+ BAD /);
  assert.match(await c.cmd('GETMETADATA (DEPTH 2) INBOX /shared/comment'), /t\d+ BAD /);
  assert.match(await c.cmd('GETMETADATA (COLOR 1) INBOX /shared/comment'), /t\d+ BAD /);
});

it('keeps a binary value exactly and returns it as literal8 when it holds NUL', async () => {
  const c = await h.open({ login: true });
  const value = Buffer.from([0x00, 0x01, 0xff, 0x0d, 0x0a]);
  c.conn.take();
  c.conn.send(Buffer.concat([Buffer.from(`b1 SETMETADATA INBOX (/private/vendor/example/bin ~{${value.length}+}\r\n`), value, Buffer.from(')\r\n')]));
  assert.match(await c.waitTagged('b1'), /b1 OK/);
  c.conn.send('b2 GETMETADATA INBOX /private/vendor/example/bin\r\n');
  const r = await c.waitTagged('b2');
  assert.equal(Buffer.from(r, 'latin1').includes(Buffer.concat([Buffer.from('~{5}\r\n'), value])), true, r);
});

it('entries stay with their mailbox across RENAME and go when it is deleted', async () => {
  const c = await h.open({ login: true });
  await c.cmd('CREATE Colour');
  assert.match(await c.cmd('SETMETADATA Colour (/private/vendor/example/color "#b71c1c")'), okLine);
  assert.match(await c.cmd('RENAME Colour Tinted'), okLine);
  assert.match(await c.cmd('GETMETADATA Tinted /private/vendor/example/color'), /\{7\}\r\n#b71c1c\)/);
  assert.match(await c.cmd('DELETE Tinted'), okLine);
  await c.cmd('CREATE Tinted');
  assert.match(await c.cmd('GETMETADATA Tinted /private/vendor/example/color'), /\(\/private\/vendor\/example\/color NIL\)/);
  assert.match(await c.cmd('GETMETADATA Nowhere /private/comment'), /t\d+ NO \[NONEXISTENT\] /);
  assert.match(await c.cmd('SETMETADATA Nowhere (/private/comment "x")'), /t\d+ NO \[NONEXISTENT\] /);
});
