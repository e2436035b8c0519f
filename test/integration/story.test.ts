/**
 * The story Mailstead exists for, as an executable test.
 * 1. A laptop on POP3 download-and-delete and a phone on IMAP: the phone sees
 *    only the mail that arrived after the laptop's last session.
 * 2. Both on IMAP: both see all mail, and a message read on one shows as read
 *    on the other without reconnecting.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { addUser, deliver, makeMessage, python, startServer, type TestServer } from '../helpers/server.js';

describe('two devices, one mailbox', () => {
  let server: TestServer;
  const imap = (user: string) =>
    new ImapFlow({
      host: '127.0.0.1',
      port: server.ports.imaps,
      secure: true,
      tls: { ca: [server.certPem], servername: 'localhost' },
      auth: { user, pass: 'pw' },
      logger: false,
    });
  const laptopPop3DownloadAndDelete = (user: string): string[] =>
    JSON.parse(
      python(
        `
import poplib, ssl, os, json, email
ctx = ssl.create_default_context(cafile=os.environ['CA'])
p = poplib.POP3_SSL('127.0.0.1', int(os.environ['PORT']), context=ctx)
p.user(os.environ['USER']); p.pass_('pw')
subjects = []
for i in range(1, p.stat()[0] + 1):
    msg = email.message_from_bytes(b'\\r\\n'.join(p.retr(i)[1]))
    subjects.append(msg['Subject'])
    p.dele(i)
p.quit()
print(json.dumps(subjects))
`,
        { CA: server.certFile, PORT: server.ports.pop3s, USER: user },
      ),
    );
  const subjectsOn = async (c: ImapFlow): Promise<string[]> => {
    const out: string[] = [];
    for await (const m of c.fetch('1:*', { envelope: true })) out.push(m.envelope!.subject!);
    return out;
  };

  before(async () => {
    server = await startServer();
    addUser(server.dataDir, 'pop-laptop@example.com', 'pw');
    addUser(server.dataDir, 'imap-both@example.com', 'pw');
  });
  after(async () => {
    await server.stop();
    server.cleanup();
  });

  test('POP3 laptop with download-and-delete: the IMAP phone sees only what came after', async () => {
    const user = 'pop-laptop@example.com';
    deliver(server.dataDir, user, makeMessage({ subject: 'monday' }));
    deliver(server.dataDir, user, makeMessage({ subject: 'tuesday' }));
    assert.deepEqual(laptopPop3DownloadAndDelete(user), ['monday', 'tuesday']);
    deliver(server.dataDir, user, makeMessage({ subject: 'wednesday' }));

    const phone = imap(user);
    await phone.connect();
    try {
      await phone.mailboxOpen('INBOX');
      assert.deepEqual(await subjectsOn(phone), ['wednesday'], 'the laptop took Monday and Tuesday away');
    } finally {
      await phone.logout();
    }
  });

  test('a POP3 QUIT with deletions reaches an IDLE IMAP session as EXPUNGE; deliver wakes it with EXISTS', async () => {
    const user = 'pop-laptop@example.com';
    const phone = imap(user);
    await phone.connect();
    try {
      await phone.mailboxOpen('INBOX');
      const count = typeof phone.mailbox === 'object' && phone.mailbox ? phone.mailbox.exists : -1;
      assert.equal(count, 1, 'Wednesday is still there');
      const expunged = new Promise<{ seq: number }>((resolve) => phone.on('expunge', resolve));
      void phone.idle();
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(laptopPop3DownloadAndDelete(user), ['wednesday']);
      assert.equal((await expunged).seq, 1);

      const exists = new Promise<{ count: number }>((resolve) => phone.on('exists', resolve));
      // The deliver command runs in another process; the running server is told through its notify socket.
      assert.equal(deliver(server.dataDir, user, makeMessage({ subject: 'thursday' })).status, 0);
      assert.equal((await exists).count, 1);
    } finally {
      await phone.logout();
    }
  });

  test('IMAP on both: both see everything, and a read on one is seen on the other live', async () => {
    const user = 'imap-both@example.com';
    deliver(server.dataDir, user, makeMessage({ subject: 'monday' }));
    deliver(server.dataDir, user, makeMessage({ subject: 'tuesday' }));
    const laptop = imap(user);
    const phone = imap(user);
    await laptop.connect();
    await phone.connect();
    try {
      await laptop.mailboxOpen('INBOX');
      await phone.mailboxOpen('INBOX');
      assert.deepEqual(await subjectsOn(laptop), ['monday', 'tuesday']);
      assert.deepEqual(await subjectsOn(phone), ['monday', 'tuesday']);

      const phoneSees = new Promise<{ uid?: number; flags: Set<string> }>((resolve) => phone.on('flags', resolve));
      void phone.idle();
      await new Promise((r) => setTimeout(r, 100));
      // The laptop opens Monday: the client marks it read.
      await laptop.messageFlagsAdd('1', ['\\Seen']);
      const change = await phoneSees;
      assert.ok(change.flags.has('\\Seen'), 'the phone learns Monday was read, without reconnecting');

      const flags = await laptop.fetchOne('1', { flags: true });
      assert.ok(flags && flags.flags!.has('\\Seen'));
    } finally {
      await laptop.logout();
      await phone.logout();
    }
  });
});
