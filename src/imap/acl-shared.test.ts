/**
 * A mailbox shared with ACL (RFC 4314) in the grantee's other users'
 * namespace (RFC 2342): listed, selected and read with the rights enforced
 * on each command, and the owner's changes pushed to the grantee's IDLE.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { ALICE, createHarness, type Harness, message } from './harness.test.js';

const BOB = 'bob@example.com';
const TEAM = 'Shared/alice@example.com/Team';
let h: Harness;
before(async () => {
  h = await createHarness();
  await h.domain.createAccount(BOB, 'bob password');
  const alice = await h.domain.requireAccount(ALICE);
  await h.domain.createMailbox(alice.id, 'Team');
  await h.domain.createMailbox(alice.id, 'Private');
  await h.domain.deliver(ALICE, message({ subject: 'team news' }), 'Team');
});
after(() => h.close());

const okLine = /(^|\r\n)t\d+ OK [^\r]*\r\n$/;

/** Bob, over TLS. */
const loginBob = () => h.open({ login: true, user: BOB, password: 'bob password' });

async function grant(rights: string): Promise<void> {
  const alice = await h.open({ login: true });
  assert.match(await alice.cmd(`SETACL Team ${BOB} ${rights}`), okLine);
}

it('the shared mailbox is listed under the other users\' namespace; what is not shared is not', async () => {
  await grant('lr');
  const bob = await loginBob();
  assert.match(await bob.cmd('NAMESPACE'), /^\* NAMESPACE \(\("" "\/"\)\) \(\("Shared\/" "\/"\)\) NIL\r\n/);
  const list = await bob.cmd('LIST "" "*"');
  assert.match(list, /\* LIST \([^)]*\) "\/" "Shared\/alice@example\.com\/Team"\r\n/);
  assert.doesNotMatch(list, /Private/);
  // LIST-STATUS (RFC 5819) of a shared mailbox needs "r" like STATUS; with "l" alone it is only listed.
  await grant('l');
  const listStatus = await bob.cmd('LIST "" "Shared/*" RETURN (STATUS (MESSAGES))');
  assert.match(listStatus, /\* LIST \([^)]*\) "\/" "Shared\/alice@example\.com\/Team"\r\n/);
  assert.doesNotMatch(listStatus, /\* STATUS/);
  await grant('lr');
  assert.match(await bob.cmd('LIST "" "Shared/*" RETURN (STATUS (MESSAGES))'), /\* STATUS "Shared\/alice@example\.com\/Team" \(MESSAGES 1\)/);
  assert.match(await bob.cmd('SELECT Shared/alice@example.com/Private'), /t\d+ NO \[NONEXISTENT\] /);
  // A personal folder called "Shared" is still the user's own.
  assert.match(await bob.cmd('CREATE Shared/Projects'), okLine);
  assert.match(await bob.cmd(`CREATE ${TEAM}/Sub`), /t\d+ NO \[NOPERM\] /);
});

it('with "lr" the grantee reads the mailbox read-only; STORE and APPEND need their rights', async () => {
  await grant('lr');
  const bob = await loginBob();
  assert.match(await bob.cmd(`STATUS ${TEAM} (MESSAGES)`), /\* STATUS "Shared\/alice@example\.com\/Team" \(MESSAGES 1\)/);
  const select = await bob.cmd(`SELECT ${TEAM}`);
  assert.match(select, /\* 1 EXISTS\r\n/);
  assert.match(select, /t\d+ OK \[READ-ONLY\] /);
  assert.match(await bob.cmd('FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])'), /Subject: team news/);
  assert.match(await bob.cmd('STORE 1 +FLAGS (\\Flagged)'), /t\d+ NO /);
  assert.match(await bob.cmd(`APPEND ${TEAM} {14+}\r\nSubject: x\r\n\r\n`), /t\d+ NO \[NOPERM\] /);
  assert.match(await bob.cmd('COPY 1 INBOX'), okLine);
});

it('"s" opens it read-write; \\Seen needs "s", \\Deleted "t", EXPUNGE "e"; without "r" nothing is read', async () => {
  await grant('lrs');
  const bob = await loginBob();
  assert.match(await bob.cmd(`SELECT ${TEAM}`), /t\d+ OK \[READ-WRITE\] /);
  assert.match(await bob.cmd('STORE 1 +FLAGS (\\Seen)'), okLine);
  assert.match(await bob.cmd('STORE 1 +FLAGS (\\Deleted)'), /t\d+ NO \[NOPERM\] /);
  assert.match(await bob.cmd('STORE 1 +FLAGS ($Work)'), /t\d+ NO \[NOPERM\] /);
  assert.match(await bob.cmd('EXPUNGE'), /t\d+ NO \[NOPERM\] /);
  // Rights are read at each command: a right taken away stops the next one.
  await grant('ls');
  assert.match(await bob.cmd('FETCH 1 (FLAGS)'), /t\d+ NO \[NOPERM\] /);
  assert.match(await bob.cmd(`STATUS ${TEAM} (MESSAGES)`), /t\d+ NO \[NOPERM\] /);
  assert.match(await bob.cmd('CLOSE'), okLine);
});

it('the owner\'s new mail and flag changes reach the grantee\'s IDLE session', async () => {
  await grant('lrs');
  const bob = await loginBob();
  await bob.cmd(`SELECT ${TEAM}`);
  bob.conn.send('i1 IDLE\r\n');
  await bob.conn.waitFor('+ idling\r\n');
  bob.conn.take();
  await h.domain.deliver(ALICE, message({ subject: 'more news' }), 'Team');
  // An IMAP4rev1 session also learns RECENT, in the same write or the next.
  assert.match(await bob.conn.waitFor('RECENT'), /^\* 2 EXISTS\r\n\* 1 RECENT\r\n$/);
  bob.conn.take();
  const alice = await h.open({ login: true });
  await alice.cmd('SELECT Team');
  await alice.cmd('STORE 2 +FLAGS (\\Flagged)');
  // An IMAP4rev1 session: the message is \Recent for it (RFC 3501 §2.3.2).
  assert.match(await bob.conn.waitFor('FETCH'), /\* 2 FETCH \(UID 2 FLAGS \((\\Recent )?\\Flagged\)\)\r\n/);
  bob.conn.send('DONE\r\n');
  assert.match(await bob.waitTagged('i1'), /i1 OK/);
});
