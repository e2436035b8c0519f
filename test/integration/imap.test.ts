/**
 * IMAP against the real server with imapflow, Python imaplib and curl:
 * TLS and STARTTLS logins, cleartext refusal, folders, fetch, flags seen by a
 * second session in IDLE, MOVE, and quota refusal on APPEND.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { addUser, curl, deliver, makeMessage, python, startServer, type TestServer } from '../helpers/server.js';

function client(server: TestServer, user: string, pass: string, mode: 'imaps' | 'starttls' = 'imaps') {
  return new ImapFlow({
    host: '127.0.0.1',
    port: mode === 'imaps' ? server.ports.imaps : server.ports.imap,
    secure: mode === 'imaps',
    doSTARTTLS: mode === 'starttls' ? true : undefined,
    tls: { ca: [server.certPem], servername: 'localhost' },
    auth: { user, pass },
    logger: false,
  });
}

/** Reads from a raw plaintext socket until `until` matches. */
async function rawExchange(port: number, lines: string[], until: RegExp): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (t: string) => (text += t));
  await new Promise((r) => socket.once('connect', r));
  const deadline = Date.now() + 30_000;
  const wait = async (re: RegExp) => {
    while (!re.test(text)) {
      if (Date.now() > deadline) throw new Error(`timeout waiting for ${re}; got:\n${text}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  await wait(/\r\n/);
  for (const line of lines) socket.write(`${line}\r\n`);
  await wait(until);
  socket.destroy();
  return text;
}

describe('IMAP', () => {
  let server: TestServer;

  before(async () => {
    server = await startServer();
    addUser(server.dataDir, 'alice@example.com', 'alice-pw');
    addUser(server.dataDir, 'quota@example.com', 'quota-pw', '3k');
    for (let i = 1; i <= 3; i++) {
      const r = deliver(server.dataDir, 'alice@example.com', makeMessage({ subject: `hello ${i}`, body: `body number ${i}` }));
      assert.equal(r.status, 0, r.stderr);
    }
  });
  after(async () => {
    await server.stop();
    server.cleanup();
  });

  test('plaintext port refuses LOGIN before STARTTLS and advertises LOGINDISABLED', async () => {
    const text = await rawExchange(server.ports.imap, ['a1 CAPABILITY', 'a2 LOGIN alice@example.com alice-pw'], /a2 (NO|BAD|OK)/);
    assert.match(text, /^\* OK /);
    assert.match(text, /\* CAPABILITY [^\r\n]*STARTTLS/);
    assert.match(text, /\* CAPABILITY [^\r\n]*LOGINDISABLED/);
    assert.match(text, /a2 NO \[PRIVACYREQUIRED\]/);
  });

  test('malformed and unknown commands get BAD and the session goes on', async () => {
    const text = await rawExchange(server.ports.imap, ['a1 FROBNICATE', 'a2 FETCH', '(((', 'a3 NOOP'], /a3 OK/);
    assert.match(text, /a1 BAD /);
    assert.match(text, /a2 BAD /);
    assert.match(text, /a3 OK/);
  });

  test('imapflow over implicit TLS: folders with special-use, fetch, flags', async () => {
    const c = client(server, 'alice@example.com', 'alice-pw');
    await c.connect();
    try {
      const list = await c.list();
      const byPath = Object.fromEntries(list.map((m) => [m.path, m]));
      for (const [path, use] of [['Sent', '\\Sent'], ['Drafts', '\\Drafts'], ['Trash', '\\Trash'], ['Junk', '\\Junk'], ['Archive', '\\Archive']]) {
        assert.equal(byPath[path]?.specialUse, use, `${path} is ${use}`);
      }
      assert.ok(byPath.INBOX);

      const mailbox = await c.mailboxOpen('INBOX');
      assert.equal(mailbox.exists, 3);
      assert.ok(Number(mailbox.uidValidity) > 0);

      const msgs = [];
      for await (const m of c.fetch('1:*', { uid: true, flags: true, size: true, internalDate: true, envelope: true })) msgs.push(m);
      assert.deepEqual(msgs.map((m) => m.uid), [1, 2, 3]);
      assert.equal(msgs[0].envelope?.subject, 'hello 1');
      assert.ok(msgs.every((m) => m.flags?.size === 0));

      // BODY.PEEK[] does not set \Seen; BODY[] does.
      const peeked = await c.fetchOne('1', { source: true });
      assert.ok(peeked && peeked.source!.toString().includes('body number 1'));
      assert.equal((await c.fetchOne('1', { flags: true }))!.flags!.has('\\Seen'), false);
      await c.messageFlagsAdd('2', ['\\Seen']);

      await c.messageFlagsAdd('3', ['\\Flagged', '$Important']);
      const flagged = await c.fetchOne('3', { flags: true });
      assert.ok(flagged && flagged.flags!.has('\\Flagged') && flagged.flags!.has('$Important'));
      await c.messageFlagsRemove('3', ['\\Flagged']);
      assert.equal((await c.fetchOne('3', { flags: true }))!.flags!.has('\\Flagged'), false);

      const unseen = await c.search({ seen: false });
      assert.deepEqual(unseen, [1, 3]);
      assert.deepEqual(await c.search({ subject: 'HELLO 2' }), [2]);
    } finally {
      await c.logout();
    }
  });

  test('a flag change is pushed to a second session in IDLE', async () => {
    const idler = client(server, 'alice@example.com', 'alice-pw');
    const writer = client(server, 'alice@example.com', 'alice-pw', 'starttls');
    await idler.connect();
    await writer.connect();
    try {
      await idler.mailboxOpen('INBOX');
      const seen = new Promise<{ uid?: number; flags: Set<string> }>((resolve) => idler.on('flags', resolve));
      void idler.idle();
      await new Promise((r) => setTimeout(r, 100));
      await writer.mailboxOpen('INBOX');
      await writer.messageFlagsAdd({ uid: '1' }, ['\\Answered'], { uid: true });
      const event = await seen;
      assert.ok(event.flags.has('\\Answered'));
    } finally {
      await writer.logout();
      await idler.logout();
    }
  });

  test('create, rename, delete folders; MOVE; APPEND over quota', async () => {
    const c = client(server, 'alice@example.com', 'alice-pw');
    await c.connect();
    try {
      await c.mailboxCreate('Projects/2026');
      await c.mailboxRename('Projects/2026', 'Projects/Done');
      let paths = (await c.list()).map((m) => m.path);
      assert.ok(paths.includes('Projects/Done') && !paths.includes('Projects/2026'));

      await c.mailboxOpen('INBOX');
      const moved = await c.messageMove('1', 'Projects/Done');
      assert.ok(moved && moved.uidMap && moved.uidMap.size === 1);
      const status = await c.status('Projects/Done', { messages: true });
      assert.equal(status.messages, 1);
      assert.equal((await c.status('INBOX', { messages: true })).messages, 2);

      await c.mailboxClose();
      await c.mailboxDelete('Projects/Done');
      paths = (await c.list()).map((m) => m.path);
      assert.ok(!paths.includes('Projects/Done'));
    } finally {
      await c.logout();
    }

    const q = client(server, 'quota@example.com', 'quota-pw');
    await q.connect();
    try {
      await q.append('INBOX', makeMessage({ subject: 'fits', to: 'quota@example.com' }));
      await assert.rejects(
        q.append('INBOX', makeMessage({ subject: 'too big', to: 'quota@example.com', body: 'z'.repeat(5000) })),
        (err: Error & { serverResponseCode?: string; response?: string }) => /OVERQUOTA/.test(`${err.serverResponseCode} ${err.response} ${err.message}`),
      );
      assert.equal((await q.status('INBOX', { messages: true })).messages, 1);
    } finally {
      await q.logout();
    }
  });

  test('Python imaplib: STARTTLS, SELECT, SEARCH, FETCH, STORE', () => {
    const out = python(
      `
import imaplib, ssl, os, json
ctx = ssl.create_default_context(cafile=os.environ['CA'])
m = imaplib.IMAP4('127.0.0.1', int(os.environ['PORT']))
m.starttls(ssl_context=ctx)
m.login('alice@example.com', 'alice-pw')
typ, data = m.select('INBOX')
assert typ == 'OK', data
count = int(data[0])
typ, data = m.search(None, 'ALL')
ids = data[0].split()
typ, msg = m.fetch(ids[0], '(RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
typ, before_read = m.fetch(ids[-1], '(FLAGS)')
typ, text = m.fetch(ids[-1], '(BODY[TEXT])')
typ, after_read = m.fetch(ids[-1], '(FLAGS)')
typ, st = m.store(ids[0], '+FLAGS', '(\\\\Deleted)')
typ, ex = m.expunge()
typ, after = m.search(None, 'ALL')
m.logout()
print(json.dumps({'before': before_read[0].decode(), 'after_read': after_read[0].decode(), 'text': repr(text), 'count': count, 'header': msg[0][1].decode(), 'expunged': [x.decode() for x in ex if x], 'after': len(after[0].split())}))
`,
      { CA: server.certFile, PORT: server.ports.imap },
    );
    const r = JSON.parse(out);
    assert.equal(r.count, 2);
    assert.doesNotMatch(r.before, /\\Seen/);
    assert.match(r.after_read, /\\Seen/, 'BODY[TEXT] without PEEK sets \\Seen');
    assert.match(r.text, /body number/);
    assert.match(r.header, /^Subject: hello \d\r\n\r\n$/);
    assert.deepEqual(r.expunged, ['1']);
    assert.equal(r.after, 1);
  });

  test('curl reads a message over IMAPS and lists folders', () => {
    deliver(server.dataDir, 'alice@example.com', makeMessage({ subject: 'for curl', body: 'curl body' }));
    const auth = ['--cacert', server.certFile, '-u', 'alice@example.com:alice-pw'];
    const listing = curl([...auth, `imaps://localhost:${server.ports.imaps}/`, '--resolve', `localhost:${server.ports.imaps}:127.0.0.1`]);
    assert.equal(listing.status, 0, listing.stderr);
    assert.match(listing.stdout.toString(), /LIST \([^)]*\\Sent[^)]*\) "\/" "?Sent"?/);
    const uidList = curl([...auth, '-X', 'UID SEARCH SUBJECT "for curl"', `imaps://127.0.0.1:${server.ports.imaps}/INBOX`]);
    const uid = /SEARCH (\d+)/.exec(uidList.stdout.toString())?.[1];
    assert.ok(uid, uidList.stdout.toString() + uidList.stderr);
    const msg = curl([...auth, `imaps://127.0.0.1:${server.ports.imaps}/INBOX;UID=${uid}`]);
    assert.equal(msg.status, 0, msg.stderr);
    assert.match(msg.stdout.toString(), /Subject: for curl\r\n[\s\S]*curl body/);
  });
});
