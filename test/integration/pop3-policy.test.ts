/**
 * The two-devices story extended to every POP3 policy and to per-device POP3
 * state (issue 5), against the real server: Python poplib as the POP3 laptop
 * and phone, imapflow as the IMAP phone, the real CLI for `user set`,
 * `user show` and `expire --now`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { addUser, cli, deliver, makeMessage, python, startServer, type TestServer } from '../helpers/server.js';

/** MODE: delete (RETR+DELE all, QUIT), keep (RETR all, QUIT), drop (RETR+DELE all, no QUIT). */
const POP = `
import poplib, ssl, os, json, email
ctx = ssl.create_default_context(cafile=os.environ['CA'])
p = poplib.POP3_SSL('127.0.0.1', int(os.environ['PORT']), context=ctx)
capa_before = [k + (' ' + ' '.join(v) if v else '') for k, v in p.capa().items()]
p.user(os.environ['LOGIN']); p.pass_('pw')
capa_after = [k + (' ' + ' '.join(v) if v else '') for k, v in p.capa().items()]
mode = os.environ['MODE']
subjects = []
for i in range(1, p.stat()[0] + 1):
    subjects.append(email.message_from_bytes(b'\\r\\n'.join(p.retr(i)[1]))['Subject'])
    if mode != 'keep':
        p.dele(i)
if mode == 'drop':
    p.sock.close()
else:
    p.quit()
print(json.dumps({'subjects': subjects, 'before': capa_before, 'after': capa_after}))
`;

describe('POP3 policies and devices', () => {
  let server: TestServer;
  const pop = (login: string, mode: 'delete' | 'keep' | 'drop') =>
    JSON.parse(python(POP, { CA: server.certFile, PORT: server.ports.pop3s, LOGIN: login, MODE: mode })) as {
      subjects: string[];
      before: string[];
      after: string[];
    };
  const userSet = (address: string, ...args: string[]) => {
    const r = cli(['user', 'set', address, ...args, '--data-dir', server.dataDir]);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const send = (address: string, subject: string, mailbox?: string) =>
    assert.equal(deliver(server.dataDir, address, makeMessage({ subject, to: address }), mailbox).status, 0);

  /** What the IMAP phone sees in a folder: subjects and flags. */
  const phoneSees = async (address: string, folder: string) => {
    const phone = new ImapFlow({
      host: '127.0.0.1',
      port: server.ports.imaps,
      secure: true,
      tls: { ca: [server.certPem], servername: 'localhost' },
      auth: { user: address, pass: 'pw' },
      logger: false,
    });
    await phone.connect();
    try {
      const box = await phone.mailboxOpen(folder);
      const out: Array<{ subject: string; flags: string[] }> = [];
      if (box.exists === 0) return out;
      for await (const m of phone.fetch('1:*', { envelope: true, flags: true })) {
        out.push({ subject: m.envelope!.subject!, flags: [...(m.flags ?? [])].sort() });
      }
      return out;
    } finally {
      await phone.logout();
    }
  };

  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.stop();
    server.cleanup();
  });

  test('laptop#laptop and phone#phone on POP3 each get every message once; IMAP still has it all', async () => {
    const user = 'devices@example.com';
    addUser(server.dataDir, user, 'pw');
    send(user, 'monday');
    send(user, 'tuesday');
    assert.deepEqual(pop(`${user}#laptop`, 'delete').subjects, ['monday', 'tuesday']);
    assert.deepEqual(pop(`${user}#phone`, 'delete').subjects, ['monday', 'tuesday'], 'the laptop did not starve the phone');
    send(user, 'wednesday');
    assert.deepEqual(pop(`${user}#phone`, 'delete').subjects, ['wednesday']);
    assert.deepEqual(pop(`${user}#laptop`, 'delete').subjects, ['wednesday']);
    assert.deepEqual(pop(`${user}#laptop`, 'delete').subjects, []);
    // A dropped session (no QUIT) records nothing: the new tablet gets everything again next time.
    assert.deepEqual(pop(`${user}#tablet`, 'drop').subjects, ['monday', 'tuesday', 'wednesday']);
    assert.deepEqual(pop(`${user}#tablet`, 'keep').subjects, ['monday', 'tuesday', 'wednesday']);

    const inbox = await phoneSees(user, 'INBOX');
    assert.deepEqual(inbox.map((m) => m.subject), ['monday', 'tuesday', 'wednesday'], 'a tagged DELE removes nothing');
    for (const m of inbox) assert.deepEqual(m.flags, ['$POP3Downloaded'], 'downloaded, not \\Seen');
    const shown = cli(['user', 'show', user, '--data-dir', server.dataDir]).stdout;
    assert.match(shown, /^pop3\tscope=inbox from=all dele=expunge expire=never$/m);
    assert.match(shown, /^device\tlaptop\tdownloaded 3\tdeleted 3$/m);
    assert.match(shown, /^device\tphone\tdownloaded 3\tdeleted 3$/m);
    assert.match(shown, /^device\ttablet\tdownloaded 3\tdeleted 0$/m);
  });

  const expected: Record<string, { inbox: Array<{ subject: string; flags: string[] }>; elsewhere?: [string, string[]] }> = {
    expunge: { inbox: [] },
    hide: { inbox: [{ subject: 'old', flags: ['$POP3Downloaded'] }] },
    seen: { inbox: [{ subject: 'old', flags: ['$POP3Downloaded', '\\Seen'] }] },
    archive: { inbox: [], elsewhere: ['Archive', ['old']] },
    trash: { inbox: [], elsewhere: ['Trash', ['old']] },
  };
  for (const [dele, want] of Object.entries(expected)) {
    test(`POP3 laptop + IMAP phone, --pop3-dele ${dele}: what the phone sees afterwards`, async () => {
      const user = `dele-${dele}@example.com`;
      addUser(server.dataDir, user, 'pw');
      assert.equal(userSet(user, '--pop3-dele', dele), `${user} pop3 scope=inbox from=all dele=${dele} expire=never\n`);
      send(user, 'old');
      assert.deepEqual(pop(user, 'delete').subjects, ['old']);
      send(user, 'new');
      assert.deepEqual(await phoneSees(user, 'INBOX'), [...want.inbox, { subject: 'new', flags: [] }]);
      if (want.elsewhere) {
        const [folder, subjects] = want.elsewhere;
        assert.deepEqual(await phoneSees(user, folder), subjects.map((subject) => ({ subject, flags: ['$POP3Downloaded'] })));
      }
      assert.deepEqual(pop(user, 'keep').subjects, ['new'], 'the laptop never gets "old" again');
    });
  }

  test('an IDLE IMAP phone is told at once of the laptop QUIT: FETCH FLAGS for hide', async () => {
    const user = 'idle-hide@example.com';
    addUser(server.dataDir, user, 'pw');
    userSet(user, '--pop3-dele', 'hide');
    send(user, 'ping');
    const phone = new ImapFlow({
      host: '127.0.0.1',
      port: server.ports.imaps,
      secure: true,
      tls: { ca: [server.certPem], servername: 'localhost' },
      auth: { user, pass: 'pw' },
      logger: false,
    });
    await phone.connect();
    try {
      await phone.mailboxOpen('INBOX');
      const flagged = new Promise<{ flags: Set<string> }>((resolve) => phone.on('flags', resolve));
      void phone.idle();
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(pop(user, 'delete').subjects, ['ping']);
      assert.ok((await flagged).flags.has('$POP3Downloaded'));
    } finally {
      await phone.logout();
    }
  });

  test('EXPIRE: advertised in CAPA and enforced by `mailstead expire`, whatever the client does', () => {
    const user = 'expire@example.com';
    addUser(server.dataDir, user, 'pw');
    send(user, 'kept-on-server');
    const untouched = pop(user, 'keep');
    assert.ok(untouched.before.includes('EXPIRE NEVER USER'), untouched.before.join(','));
    assert.ok(untouched.after.includes('EXPIRE NEVER'), untouched.after.join(','));
    // Downloaded while no policy was in force: only the first download time counts.
    assert.equal(userSet(user, '--pop3-expire', '7'), `${user} pop3 scope=inbox from=all dele=expunge expire=7d\n`);
    send(user, 'never-fetched');
    const r = pop(user, 'keep');
    assert.ok(r.after.includes('EXPIRE 7'), r.after.join(','));
    assert.deepEqual(r.subjects, ['kept-on-server', 'never-fetched']);

    const in3Days = new Date(Date.now() + 3 * 86400_000).toISOString();
    let run = cli(['expire', '--now', in3Days, '--data-dir', server.dataDir]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^${user}\\texpire 7 days\\tremoved 0$`, 'm'));
    const in8Days = new Date(Date.now() + 8 * 86400_000).toISOString();
    run = cli(['expire', '--now', in8Days, '--data-dir', server.dataDir]);
    assert.match(run.stdout, new RegExp(`^${user}\\texpire 7 days\\tremoved 2$`, 'm'));
    assert.match(run.stdout, /^expired \d+ messages$/m);
    send(user, 'fresh');
    assert.deepEqual(pop(user, 'keep').subjects, ['fresh']);
  });

  test('--pop3-scope all and --pop3-from now, set through the CLI', () => {
    const user = 'scope@example.com';
    addUser(server.dataDir, user, 'pw');
    send(user, 'before-policy');
    send(user, 'filed', 'Archive');
    send(user, 'spam', 'Junk');
    userSet(user, '--pop3-scope', 'all');
    assert.deepEqual(pop(user, 'keep').subjects, ['before-policy', 'filed']);
    assert.match(userSet(user, '--pop3-from', 'now'), /scope=all from=\d{4}-\d\d-\d\dT/);
    send(user, 'after-policy');
    assert.deepEqual(pop(user, 'keep').subjects, ['after-policy']);
    const bad = cli(['user', 'set', user, '--pop3-dele', 'shred', '--data-dir', server.dataDir]);
    assert.equal(bad.status, 64);
    assert.match(bad.stderr, /--pop3-dele must be one of expunge, hide, seen, archive, trash/);
  });
});
