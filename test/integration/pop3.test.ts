/**
 * POP3 against the real server with Python poplib and curl: TLS and STLS
 * logins, cleartext refusal, RETR exact bytes, DELE applied only at QUIT, the
 * maildrop lock, and a killed session deleting nothing.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { addUser, curl, deliver, makeMessage, python, startServer, type TestServer } from '../helpers/server.js';

const POP = `
import poplib, ssl, os, json, sys
ctx = ssl.create_default_context(cafile=os.environ['CA'])
def pop(stls=False):
    if stls:
        p = poplib.POP3('127.0.0.1', int(os.environ['POP3']))
        p.stls(context=ctx)
    else:
        p = poplib.POP3_SSL('127.0.0.1', int(os.environ['POP3S']), context=ctx)
    p.user(os.environ['USER']); p.pass_(os.environ['PASS'])
    return p
`;

describe('POP3', () => {
  let server: TestServer;
  const env = () => ({ CA: server.certFile, POP3: server.ports.pop3, POP3S: server.ports.pop3s, USER: 'pat@example.com', PASS: 'pat-pw' });

  before(async () => {
    server = await startServer();
    addUser(server.dataDir, 'pat@example.com', 'pat-pw');
    deliver(server.dataDir, 'pat@example.com', makeMessage({ subject: 'one', body: '.leading dot\r\n..two dots\r\nend' }));
    deliver(server.dataDir, 'pat@example.com', makeMessage({ subject: 'two' }));
    deliver(server.dataDir, 'pat@example.com', makeMessage({ subject: 'three' }));
  });
  after(async () => {
    await server.stop();
    server.cleanup();
  });

  test('plain port: CAPA offers STLS, USER is refused before TLS', () => {
    const out = python(
      `
import poplib, os
p = poplib.POP3('127.0.0.1', int(os.environ['POP3']))
caps = p.capa()
try:
    p.user('pat@example.com'); print('ACCEPTED')
except poplib.error_proto as e:
    print('REFUSED', e)
print('STLS' in caps, 'USER' in caps)
`,
      env(),
    );
    assert.match(out, /REFUSED b'-ERR \[AUTH\][^']*STLS/);
    assert.match(out, /True False/);
  });

  test('STAT, LIST, UIDL, RETR (exact bytes, dot-stuffing undone), TOP; UIDL stable across sessions', () => {
    const script = `${POP}
p = pop(stls=True)
stat = p.stat()
uidl = [x.decode() for x in p.uidl()[1]]
resp, lines, octets = p.retr(1)
top = p.top(2, 0)[1]
p.quit()
q = pop()
uidl2 = [x.decode() for x in q.uidl()[1]]
q.quit()
print(json.dumps({'stat': stat, 'uidl': uidl, 'uidl2': uidl2, 'body': b'\\r\\n'.join(lines).decode(), 'octets': octets, 'top': b'\\r\\n'.join(top).decode()}))
`;
    const r = JSON.parse(python(script, env()));
    assert.equal(r.stat[0], 3);
    assert.equal(r.uidl.length, 3);
    assert.deepEqual(r.uidl, r.uidl2, 'UIDL stable across sessions');
    assert.match(r.body, /\r\n\r\n\.leading dot\r\n\.\.two dots\r\nend/);
    assert.match(r.top, /Subject: two/);
    assert.doesNotMatch(r.top, /Body of two/);
  });

  test('curl retrieves a message over POP3S byte for byte', () => {
    const msg = curl(['--cacert', server.certFile, '-u', 'pat@example.com:pat-pw', `pop3s://127.0.0.1:${server.ports.pop3s}/2`]);
    assert.equal(msg.status, 0, msg.stderr);
    assert.match(msg.stdout.toString(), /^From: Sender[\s\S]*Subject: two\r\n[\s\S]*\r\nBody of two\r\n$/);
  });

  test('the maildrop is locked: a second session gets [IN-USE]', () => {
    const out = python(
      `${POP}
a = pop()
try:
    b = pop(); print('SECOND OK')
except poplib.error_proto as e:
    print('SECOND', e)
a.quit()
c = pop(); print('THIRD', c.stat()[0]); c.quit()
`,
      env(),
    );
    assert.match(out, /SECOND b'-ERR \[IN-USE\]/);
    assert.match(out, /THIRD 3/);
  });

  test('a session killed after DELE deletes nothing; QUIT applies deletions', async () => {
    // A real client process that deletes everything and is then killed before QUIT.
    const child = spawn('python3', ['-c', `${POP}
p = pop()
for i in range(1, p.stat()[0] + 1): p.dele(i)
print('DELETED', flush=True)
sys.stdin.read()
`], { env: { ...process.env, ...Object.fromEntries(Object.entries(env()).map(([k, v]) => [k, String(v)])) }, stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('DELETED') && resolve());
      child.once('exit', (code) => reject(new Error(`python exited early: ${code}`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    // Give the server a moment to see the connection drop and release the lock.
    let count = '';
    for (let i = 0; i < 50 && !/^3$/m.test(count); i++) {
      await new Promise((r) => setTimeout(r, 100));
      try {
        count = python(`${POP}\np = pop(); print(p.stat()[0]); p.quit()`, env());
      } catch {
        // still locked by the dying session
      }
    }
    assert.match(count, /^3$/m, 'nothing deleted by the killed session');

    const out = python(`${POP}\np = pop(); p.dele(1); p.rset(); p.dele(2); print(p.quit())\nq = pop(); print(q.stat()[0]); q.quit()`, env());
    assert.match(out, /^2$/m, 'QUIT deleted exactly one message');
  });
});
