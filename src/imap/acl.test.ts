/** ACL (RFC 4314 §3): SETACL, DELETEACL, GETACL, LISTRIGHTS, MYRIGHTS on the owner's folders and as a grantee sees them. */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createHarness, type Harness } from './harness.test.js';

const BOB = 'bob@example.com';
let h: Harness;
before(async () => {
  h = await createHarness();
  await h.domain.createAccount(BOB, 'bob password');
});
after(() => h.close());

const okLine = /(^|\r\n)t\d+ OK [^\r]*\r\n$/;

/** Bob, over TLS. */
const loginBob = () => h.open({ login: true, user: BOB, password: 'bob password' });

it('the owner holds every right; SETACL replaces, adds (+) and removes (-) rights; DELETEACL removes the entry', async () => {
  const c = await h.open({ login: true });
  assert.equal(await c.cmd('MYRIGHTS INBOX', 'a'), '* MYRIGHTS INBOX lrswipkxtea\r\na OK MYRIGHTS completed\r\n');
  await c.cmd('CREATE Team');
  assert.equal(await c.cmd('GETACL Team', 'b'), '* ACL Team alice@example.com lrswipkxtea\r\nb OK GETACL completed\r\n');
  assert.match(await c.cmd(`SETACL Team ${BOB} lr`), okLine);
  assert.match(await c.cmd('GETACL Team'), /^\* ACL Team alice@example\.com lrswipkxtea bob@example\.com lr\r\n/);
  assert.match(await c.cmd(`SETACL Team ${BOB} +wsw`), okLine);
  assert.match(await c.cmd('GETACL Team'), /bob@example\.com lrsw\r\n/);
  assert.match(await c.cmd(`SETACL Team BOB@Example.com -rs`), okLine);
  assert.match(await c.cmd('GETACL Team'), /bob@example\.com lw\r\n/);
  assert.match(await c.cmd(`DELETEACL Team ${BOB}`), okLine);
  assert.match(await c.cmd('GETACL Team'), /^\* ACL Team alice@example\.com lrswipkxtea\r\n/);
  // RFC 4314 §2.1.1: the obsolete "c" and "d" stand for "k" and "xte".
  assert.match(await c.cmd('SETACL Team anyone cd'), okLine);
  assert.match(await c.cmd('GETACL Team'), /anyone kxte\r\n/);
  assert.match(await c.cmd('DELETEACL Team anyone'), okLine);
});

it('LISTRIGHTS: the owner holds all, anyone else may be given each right on its own (RFC 4314 §3.4)', async () => {
  const c = await h.open({ login: true });
  assert.equal(await c.cmd(`LISTRIGHTS INBOX ${BOB}`, 'l'), `* LISTRIGHTS INBOX ${BOB} "" l r s w i p k x t e a\r\nl OK LISTRIGHTS completed\r\n`);
  assert.match(await c.cmd('LISTRIGHTS INBOX alice@example.com'), /^\* LISTRIGHTS INBOX alice@example\.com lrswipkxtea\r\n/);
});

it('refuses unknown rights (BAD), unknown users, the owner and negative identifiers (NO)', async () => {
  const c = await h.open({ login: true });
  assert.match(await c.cmd(`SETACL INBOX ${BOB} lrz`), /t\d+ BAD /);
  assert.match(await c.cmd('SETACL INBOX nobody@example.com lr'), /t\d+ NO \[CANNOT\] /);
  assert.match(await c.cmd('SETACL INBOX alice@example.com lr'), /t\d+ NO \[CANNOT\] /);
  assert.match(await c.cmd(`SETACL INBOX -${BOB} lr`), /t\d+ NO \[CANNOT\] /);
  assert.match(await c.cmd('MYRIGHTS Nowhere'), /t\d+ NO \[NONEXISTENT\] /);
});

it('a grantee sees their rights under Shared/<owner>/, may not read or change the ACL without "a", and sees nothing without "l"', async () => {
  const alice = await h.open({ login: true });
  await alice.cmd('CREATE Reports');
  await alice.cmd('CREATE Private');
  assert.match(await alice.cmd(`SETACL Reports ${BOB} lrs`), okLine);
  const bob = await loginBob();
  assert.match(await bob.cmd('MYRIGHTS Shared/alice@example.com/Reports'), /^\* MYRIGHTS Shared\/alice@example\.com\/Reports lrs\r\n/);
  assert.match(await bob.cmd('GETACL Shared/alice@example.com/Reports'), /t\d+ NO \[NOPERM\] /);
  assert.match(await bob.cmd(`SETACL Shared/alice@example.com/Reports ${BOB} lrswipkxtea`), /t\d+ NO \[NOPERM\] /);
  // Without "l" the mailbox is answered exactly as one that does not exist.
  assert.match(await bob.cmd('MYRIGHTS Shared/alice@example.com/Private'), /t\d+ NO \[NONEXISTENT\] Mailbox does not exist\r\n$/);
  assert.match(await bob.cmd('MYRIGHTS Shared/alice@example.com/Nothing'), /t\d+ NO \[NONEXISTENT\] Mailbox does not exist\r\n$/);
  // "a" lets the grantee manage the ACL.
  assert.match(await alice.cmd(`SETACL Reports ${BOB} +a`), okLine);
  assert.match(await bob.cmd('GETACL Shared/alice@example.com/Reports'), /^\* ACL Shared\/alice@example\.com\/Reports alice@example\.com lrswipkxtea bob@example\.com lrsa\r\n/);
  // METADATA of a shared mailbox: /shared entries are the owner's, /private ones the reader's own.
  assert.match(await alice.cmd('SETMETADATA Reports (/shared/comment "team" /private/comment "alice only")'), okLine);
  const meta = await bob.cmd('GETMETADATA Shared/alice@example.com/Reports (/shared/comment /private/comment)');
  assert.match(meta, /^\* METADATA Shared\/alice@example\.com\/Reports \(\/shared\/comment \{4\}\r\nteam \/private\/comment NIL\)\r\n/);
  // Writing a /shared entry takes "w", which bob lacks; his /private entries need only "r".
  assert.match(await bob.cmd('SETMETADATA Shared/alice@example.com/Reports (/shared/comment "bob")'), /t\d+ NO \[NOPERM\] /);
  assert.match(await bob.cmd('SETMETADATA Shared/alice@example.com/Reports (/private/comment "bob only")'), okLine);
  assert.match(await alice.cmd('GETMETADATA Reports /private/comment'), /alice only/);
});
