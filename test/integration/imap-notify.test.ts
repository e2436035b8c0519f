/**
 * RFC 5465 NOTIFY against the real server: a raw client idles on INBOX with
 * NOTIFY set and is told, while idling, of mail the `deliver` command puts
 * into another folder (through the process bridge) and of folders another
 * device (imapflow) creates, renames and deletes.
 */
import assert from 'node:assert/strict';
import { connect, type TLSSocket } from 'node:tls';
import { after, before, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { addUser, deliver, makeMessage, startServer, type TestServer } from '../helpers/server.js';

const USER = 'nina@example.com';
const PASS = 'nina-secret-pw';

let server: TestServer;
before(async () => {
  server = await startServer();
  addUser(server.dataDir, USER, PASS);
});
after(async () => {
  await server.stop();
  server.cleanup();
});

/** A raw IMAP client: writes lines, waits for text. */
class Raw {
  private text = '';
  private waiters: Array<() => void> = [];
  constructor(readonly socket: TLSSocket) {
    socket.setEncoding('utf8');
    socket.on('data', (s: string) => {
      this.text += s;
      for (const w of this.waiters.splice(0)) w();
    });
  }
  send(line: string): void {
    this.socket.write(`${line}\r\n`);
  }
  /** Waits until the buffered text matches, returns and clears it. */
  async until(re: RegExp, ms = 30_000): Promise<string> {
    const deadline = Date.now() + ms;
    while (!re.test(this.text)) {
      if (Date.now() > deadline) throw new Error(`timeout waiting for ${re}; got:\n${this.text}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
    const t = this.text;
    this.text = '';
    return t;
  }
}

test('a session idling on INBOX with NOTIFY hears of deliveries elsewhere and of folders created, renamed, deleted', async () => {
  const socket = connect({ host: '127.0.0.1', port: server.ports.imaps, ca: [server.certPem], servername: 'localhost' });
  const raw = new Raw(socket);
  const device = new ImapFlow({
    host: '127.0.0.1',
    port: server.ports.imaps,
    secure: true,
    tls: { ca: [server.certPem], servername: 'localhost' },
    auth: { user: USER, pass: PASS },
    logger: false,
  });
  try {
    await raw.until(/\* OK .*\r\n/);
    raw.send(`a LOGIN ${USER} ${PASS}`);
    assert.match(await raw.until(/a OK/), /NOTIFY/);
    raw.send('b SELECT INBOX');
    await raw.until(/b OK/);
    raw.send('c NOTIFY SET STATUS (SELECTED (MessageNew MessageExpunge FlagChange)) (PERSONAL (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange))');
    // FlagChange asked for: HIGHESTMODSEQ too (RFC 5465 §5.1), as Dovecot sends it.
    assert.match(await raw.until(/c OK/), /\* STATUS "Archive" \(MESSAGES 0 UIDNEXT 1 UIDVALIDITY \d+ UNSEEN 0 HIGHESTMODSEQ 1\)\r\n/);
    raw.send('d IDLE');
    await raw.until(/\+ /);

    // Another process (the deliver command) files mail into Archive.
    const r = deliver(server.dataDir, USER, makeMessage({ subject: 'filed' }), 'Archive');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(await raw.until(/STATUS.*\r\n/), '* STATUS "Archive" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n');

    // Another device creates, renames and deletes a folder.
    await device.connect();
    await device.mailboxCreate('Projects');
    // imapflow subscribes to what it creates: a MailboxName LIST, then a SubscriptionChange LIST.
    const created = await raw.until(/(\* LIST [^\n]*\n){2}/);
    assert.match(created, /^\* LIST \(\\HasNoChildren( \\Subscribed)?\) "\/" "Projects"\r\n\* LIST \(\\HasNoChildren \\Subscribed\) "\/" "Projects"\r\n$/);
    await device.mailboxRename('Projects', 'Work');
    assert.equal(await raw.until(/\)\)\r\n/), '* LIST (\\HasNoChildren) "/" "Work" ("OLDNAME" ("Projects"))\r\n');
    await device.mailboxDelete('Work');
    assert.equal(await raw.until(/Work"\r\n/), '* LIST (\\NonExistent) "/" "Work"\r\n');
    await device.mailboxSubscribe('Archive');

    // New mail in the idled-on INBOX itself still comes as EXISTS.
    assert.equal(deliver(server.dataDir, USER, makeMessage({ subject: 'inbox' })).status, 0);
    assert.match(await raw.until(/EXISTS\r\n/), /\* 1 EXISTS\r\n/);
    raw.send('DONE');
    await raw.until(/d OK IDLE terminated\r\n/);
    raw.send('e LOGOUT');
    await raw.until(/e OK/);
  } finally {
    await device.logout().catch(() => {});
    socket.destroy();
  }
});
