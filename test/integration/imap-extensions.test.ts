/**
 * SCRAM-SHA-256, COMPRESS=DEFLATE and QUOTA against the real server over
 * real sockets: imapflow (negotiates COMPRESS by itself), Python imaplib
 * (generic AUTHENTICATE with a SCRAM callback written here, GETQUOTAROOT),
 * and a raw TLS client doing SCRAM with SASL-IR, then speaking deflate.
 */
import assert from 'node:assert/strict';
import { connect, type TLSSocket } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { constants as zlib, createDeflateRaw, createInflateRaw } from 'node:zlib';
import { ImapFlow } from 'imapflow';
import { ScramClient } from '../helpers/scram-client.js';
import { addUser, deliver, makeMessage, python, startServer, type TestServer } from '../helpers/server.js';

const USER = 'carol@example.com';
const PASS = 'carol-secret-pw';

/** A line-oriented reader over a stream of decoded text. */
class Lines {
  private text = '';
  private waiters: Array<() => void> = [];
  push(s: string): void {
    this.text += s;
    for (const w of this.waiters.splice(0)) w();
  }
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

describe('IMAP extensions over real sockets', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
    addUser(server.dataDir, USER, PASS, '1M');
    deliver(server.dataDir, USER, makeMessage({ subject: 'Compressed hello', body: 'z'.repeat(50_000) }));
  });
  after(async () => {
    await server.stop();
    server.cleanup();
  });

  test('imapflow negotiates COMPRESS=DEFLATE by itself and works through it (append, fetch, status)', async () => {
    const client = new ImapFlow({
      host: '127.0.0.1',
      port: server.ports.imaps,
      secure: true,
      tls: { ca: [server.certPem], servername: 'localhost' },
      auth: { user: USER, pass: PASS },
      logger: false,
    });
    await client.connect();
    try {
      assert.ok((client as unknown as { _deflate?: unknown })._deflate, 'imapflow switched to DEFLATE');
      const big = makeMessage({ subject: 'Big one', body: 'line of text\r\n'.repeat(20_000) });
      const appended = await client.append('INBOX', big);
      assert.ok(appended && appended.uid);
      const lock = await client.getMailboxLock('INBOX');
      try {
        const fetched = await client.fetchOne(String(appended.uid), { source: true }, { uid: true });
        assert.ok(fetched);
        assert.equal(fetched.source?.toString('latin1'), big);
      } finally {
        lock.release();
      }
      const status = await client.status('INBOX', { messages: true });
      assert.equal(status.messages, 2);
      const quota = await client.getQuota('INBOX');
      assert.ok(quota && quota.storage && quota.storage.limit === 1024 * 1024);
    } finally {
      await client.logout();
    }
  });

  test('Python imaplib: AUTHENTICATE SCRAM-SHA-256 (server proof checked), GETQUOTAROOT, NAMESPACE', () => {
    const out = python(
      `
import imaplib, ssl, os, json, hmac, hashlib, base64
class Scram:
    def __init__(self, user, password):
        self.user, self.password, self.step = user, password, 0
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.verified = False
    def __call__(self, challenge):
        if self.step == 0:
            self.step = 1
            self.bare = 'n=%s,r=%s' % (self.user, self.nonce)
            return ('n,,' + self.bare).encode()
        if self.step == 1:
            self.step = 2
            sf = challenge.decode()
            a = dict(x.split('=', 1) for x in sf.split(','))
            salted = hashlib.pbkdf2_hmac('sha256', self.password.encode(), base64.b64decode(a['s']), int(a['i']))
            ck = hmac.new(salted, b'Client Key', hashlib.sha256).digest()
            sk = hashlib.sha256(ck).digest()
            wp = 'c=biws,r=' + a['r']
            am = (self.bare + ',' + sf + ',' + wp).encode()
            sig = hmac.new(sk, am, hashlib.sha256).digest()
            proof = bytes(x ^ y for x, y in zip(ck, sig))
            server_key = hmac.new(salted, b'Server Key', hashlib.sha256).digest()
            self.expected = 'v=' + base64.b64encode(hmac.new(server_key, am, hashlib.sha256).digest()).decode()
            return (wp + ',p=' + base64.b64encode(proof).decode()).encode()
        self.verified = challenge.decode() == self.expected
        return b''
ctx = ssl.create_default_context(cafile=os.environ['CA'])
m = imaplib.IMAP4_SSL('127.0.0.1', int(os.environ['PORT']), ssl_context=ctx)
caps = list(m.capabilities)
scram = Scram(os.environ['USER_NAME'], os.environ['PASS'])
typ, data = m.authenticate('SCRAM-SHA-256', scram)
typ2, root = m.getquotaroot('INBOX')
typ3, ns = m.namespace()
bad = imaplib.IMAP4_SSL('127.0.0.1', int(os.environ['PORT']), ssl_context=ctx)
try:
    bad.authenticate('SCRAM-SHA-256', Scram(os.environ['USER_NAME'], 'wrong'))
    refused = False
except imaplib.IMAP4.error as e:
    refused = 'AUTHENTICATIONFAILED' in str(e)
m.logout()
print(json.dumps({'caps': caps, 'auth': typ, 'verified': scram.verified, 'root': [x.decode() for part in root for x in part], 'ns': ns[0].decode(), 'refused': refused}))
`,
      { CA: server.certFile, PORT: server.ports.imaps, USER_NAME: USER, PASS },
    );
    const r = JSON.parse(out);
    assert.ok(r.caps.includes('AUTH=SCRAM-SHA-256'), out);
    assert.equal(r.auth, 'OK');
    assert.equal(r.verified, true, 'the server proved it knows the SCRAM keys');
    assert.ok(r.root.some((line: string) => /^"INBOX" ""$/.test(line)), out);
    assert.ok(r.root.some((line: string) => /^"" \(STORAGE \d+ 1024\)$/.test(line)), out);
    assert.equal(r.ns, '(("" "/")) (("Shared/" "/")) NIL');
    assert.equal(r.refused, true);
  });

  test('raw TLS client: SCRAM with SASL-IR, then COMPRESS DEFLATE in both directions', async () => {
    const socket: TLSSocket = connect({ host: '127.0.0.1', port: server.ports.imaps, ca: [server.certPem], servername: 'localhost' });
    const clear = new Lines();
    const onClear = (b: Buffer) => clear.push(b.toString('latin1'));
    socket.on('data', onClear);
    try {
      await clear.until(/^\* OK \[CAPABILITY [^\]]*AUTH=SCRAM-SHA-256[^\]]*\] Mailstead ready\r\n$/);
      const scram = new ScramClient(USER, PASS);
      socket.write(`a AUTHENTICATE SCRAM-SHA-256 ${scram.first()}\r\n`);
      const first = /^\+ (\S+)\r\n$/.exec(await clear.until(/\r\n$/))![1];
      socket.write(scram.final(first) + '\r\n');
      const last = /^\+ (\S+)\r\n$/.exec(await clear.until(/\r\n$/))![1];
      assert.equal(scram.verifyServer(last), true);
      socket.write('\r\n');
      assert.match(await clear.until(/a OK [^\r]*\r\n$/), /a OK \[CAPABILITY [^\]]*COMPRESS=DEFLATE/);
      socket.write('b COMPRESS DEFLATE\r\n');
      assert.equal(await clear.until(/\r\n$/), 'b OK DEFLATE active\r\n');

      // From here on both directions are raw DEFLATE.
      socket.off('data', onClear);
      const inflate = createInflateRaw();
      const deflate = createDeflateRaw();
      const plain = new Lines();
      let wireBytes = 0;
      socket.on('data', (b: Buffer) => {
        wireBytes += b.length;
        inflate.write(b);
      });
      inflate.on('data', (b: Buffer) => plain.push(b.toString('latin1')));
      deflate.on('data', (b: Buffer) => socket.write(b));
      const send = (line: string) => {
        deflate.write(line + '\r\n');
        deflate.flush(zlib.Z_SYNC_FLUSH);
      };
      send('c SELECT INBOX');
      assert.match(await plain.until(/c OK [^\r]*\r\n$/), /\* \d EXISTS\r\n[\s\S]*c OK \[READ-WRITE\]/);
      send('d FETCH 1 (BODY.PEEK[TEXT])');
      const fetched = await plain.until(/d OK [^\r]*\r\n$/);
      assert.match(fetched, /BODY\[TEXT\] \{50002\}\r\nz{50000}\r\n/);
      assert.ok(wireBytes < 5000, `50 kB of text travelled in ${wireBytes} compressed bytes`);
      send('e COMPRESS DEFLATE');
      assert.equal(await plain.until(/\r\n$/), 'e NO [COMPRESSIONACTIVE] DEFLATE is already active\r\n');
      send('f LOGOUT');
      assert.match(await plain.until(/f OK [^\r]*\r\n$/), /\* BYE [^\r]*\r\nf OK LOGOUT completed\r\n$/);
    } finally {
      socket.destroy();
    }
  });
});
