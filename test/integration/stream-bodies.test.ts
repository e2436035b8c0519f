/**
 * Bodies stream (issue 11): a 50 MB message delivered over LMTP and fetched
 * by ten IMAP sessions at once and by POP3 RETR, while another session's
 * NOOPs keep being answered, and the server's memory grows far less than ten
 * copies of the message; byte-exact FETCH/RETR/TOP of awkward mail; APPEND of
 * a large literal, and an APPEND cut off mid-literal leaving nothing behind.
 *
 * The clients here are raw sockets that hash literals as they arrive, so the
 * test process does not hold ten copies either.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import nodemailer from 'nodemailer';
import { addUser, startServer, type TestServer } from '../helpers/server.js';

const USER = 'big@example.com';
const PASS = 'big-password';
const MB = 1024 * 1024;
const BIG = 50 * MB;

/** A socket reader: waits for a pattern or for n bytes, without keeping more than it must. */
class Wire {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  private closed = false;
  private tagN = 0;

  constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.wake?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on('error', () => {});
  }

  static open(port: number): Promise<Wire> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new Wire(s)));
      s.once('error', reject);
    });
  }

  private async more(): Promise<void> {
    if (this.closed) throw new Error('connection closed');
    await new Promise<void>((resolve) => (this.wake = resolve));
    this.wake = null;
  }

  /** Text up to and including the first CRLF. */
  async line(): Promise<string> {
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i !== -1) {
        const line = this.buf.subarray(0, i + 2).toString('latin1');
        this.buf = this.buf.subarray(i + 2);
        return line;
      }
      await this.more();
    }
  }

  /** Exactly n bytes, handed to `sink` in pieces. */
  async bytes(n: number, sink: (b: Buffer) => void): Promise<void> {
    while (n > 0) {
      if (this.buf.length === 0) await this.more();
      const take = Math.min(n, this.buf.length);
      sink(this.buf.subarray(0, take));
      this.buf = this.buf.subarray(take);
      n -= take;
    }
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /**
   * Runs an IMAP command; every literal in the answer is hashed (sha256 hex),
   * not kept. Returns the response lines (literals replaced by "{n}") and the hashes.
   */
  async imap(command: string): Promise<{ text: string; literals: Array<{ size: number; sha: string }> }> {
    const tag = `t${++this.tagN}`;
    this.write(`${tag} ${command}\r\n`);
    let text = '';
    const literals: Array<{ size: number; sha: string }> = [];
    for (;;) {
      const line = await this.line();
      text += line;
      const literal = /\{(\d+)\}\r\n$/.exec(line);
      if (literal) {
        const hash = createHash('sha256');
        const size = Number(literal[1]);
        await this.bytes(size, (b) => hash.update(b));
        literals.push({ size, sha: hash.digest('hex') });
        continue;
      }
      if (line.startsWith(`${tag} `)) return { text, literals };
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The tagged completion of `tag`, skipping untagged responses. */
async function tagged(w: Wire, tag: string): Promise<string> {
  for (;;) {
    const line = await w.line();
    if (line.startsWith(`${tag} `)) return line;
  }
}

async function imapLogin(port: number): Promise<Wire> {
  const w = await Wire.open(port);
  await w.line();
  const r = await w.imap(`LOGIN ${USER} ${PASS}`);
  assert.match(r.text, /OK/);
  assert.match((await w.imap('SELECT INBOX')).text, /OK \[READ-WRITE\]/);
  return w;
}

async function pop3Login(port: number): Promise<Wire> {
  const w = await Wire.open(port);
  assert.match(await w.line(), /^\+OK/);
  w.write(`USER ${USER}\r\n`);
  assert.match(await w.line(), /^\+OK/);
  w.write(`PASS ${PASS}\r\n`);
  assert.match(await w.line(), /^\+OK/);
  return w;
}

/** RETR or TOP: the status line and the body with the byte-stuffing undone (RFC 1939 §3). */
async function pop3Multiline(w: Wire, command: string): Promise<{ status: string; body: Buffer }> {
  w.write(`${command}\r\n`);
  const status = await w.line();
  assert.match(status, /^\+OK/, command);
  const lines: Buffer[] = [];
  for (;;) {
    const line = await w.line();
    if (line === '.\r\n') break;
    lines.push(Buffer.from(line.startsWith('.') ? line.slice(1) : line, 'latin1'));
  }
  return { status, body: Buffer.concat(lines) };
}

/**
 * NOOPs on their own session, from a child process so that the latency
 * measured is the server's, not this process's (busy hashing the readers' bytes).
 */
function startPinger(port: number): { started: Promise<void>; stop(): Promise<{ slowestNoop: number; noops: number }> } {
  const script = `
    const net = require('node:net');
    const s = net.connect(${port}, '127.0.0.1');
    let buf = '', n = 0, slowest = 0, t0 = 0, stop = false;
    const send = () => { t0 = performance.now(); s.write('p' + (++n) + ' NOOP\\r\\n'); };
    s.on('data', (d) => {
      buf += d.toString('latin1');
      for (let i; (i = buf.indexOf('\\r\\n')) !== -1; ) {
        const line = buf.slice(0, i); buf = buf.slice(i + 2);
        if (line.startsWith('* OK')) s.write('l LOGIN ${USER} ${PASS}\\r\\n');
        else if (line.startsWith('l OK')) { process.stdout.write('ready\\n'); send(); }
        else if (line.startsWith('p' + n + ' OK')) {
          slowest = Math.max(slowest, performance.now() - t0);
          if (stop) { process.stdout.write(JSON.stringify({ slowestNoop: slowest, noops: n }) + '\\n'); s.destroy(); }
          else send();
        }
      }
    });
    process.stdin.on('data', () => { stop = true; });
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  let onLine: (() => void) | null = null;
  child.stdout.setEncoding('utf8').on('data', (t: string) => {
    out += t;
    onLine?.();
  });
  const waitFor = (re: RegExp) =>
    new Promise<RegExpExecArray>((resolve) => {
      onLine = () => {
        const m = re.exec(out);
        if (m) resolve(m);
      };
      onLine();
    });
  return {
    started: waitFor(/ready\n/).then(() => {}),
    async stop() {
      child.stdin.write('stop\n');
      const m = await waitFor(/(\{.*\})\n/);
      child.stdin.end();
      if (child.exitCode === null) child.kill();
      return JSON.parse(m[1]!) as { slowestNoop: number; noops: number };
    },
  };
}

function vmRssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** A 50 MB message: text lines, some starting with ".", CRLF line ends. */
function bigMessage(): Buffer {
  const header = Buffer.from('From: a@example.org\r\nTo: big@example.com\r\nSubject: fifty megabytes\r\nMessage-ID: <big@example.org>\r\n\r\n');
  const line = Buffer.from('.a line of the big message, starting with a dot and long enough to matter...........\r\n');
  const out = Buffer.alloc(BIG - 200);
  header.copy(out, 0);
  let o = header.length;
  while (o + line.length <= out.length) o += line.copy(out, o);
  out.fill(0x78, o, out.length - 2);
  out.write('\r\n', out.length - 2);
  return out;
}

describe('message bodies stream', () => {
  let server: TestServer;

  before(async () => {
    server = await startServer({ config: { tls: { allowCleartextAuthFromLoopback: true }, limits: { maxMessageBytes: 64 * MB } } });
    addUser(server.dataDir, USER, PASS);
  });
  after(async () => {
    await server.stop();
    server.cleanup();
  });

  test('a 50 MB message: LMTP, ten FETCHes at once and RETR, NOOPs answered, memory far below ten copies', async () => {
    const pid = server.process.pid!;
    const original = bigMessage();
    // What delivery stores: Return-Path first (RFC 5321 §4.4), CRLF line ends.
    const stored = Buffer.concat([Buffer.from('Return-Path: <sender@example.org>\r\n'), original]);
    const storedSha = sha(stored);
    const pinger = startPinger(server.ports.imap);
    let peakRss = vmRssBytes(pid);
    const baseline = peakRss;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peakRss = Math.max(peakRss, vmRssBytes(pid));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await pinger.started;
    try {
      const lmtp = nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port: server.ports.lmtp, secure: false, ignoreTLS: true });
      const info = await lmtp.sendMail({ envelope: { from: 'sender@example.org', to: [USER] }, raw: original });
      assert.deepEqual(info.accepted, [USER]);
      const afterDelivery = vmRssBytes(pid);

      const readers = await Promise.all(Array.from({ length: 10 }, () => imapLogin(server.ports.imap)));
      const offset = 12_345_678;
      const length = 5 * MB;
      const fetches = readers.map(async (w, i) => {
        const r = await w.imap(i % 2 === 0 ? 'FETCH 1 BODY.PEEK[]' : `FETCH 1 (BODY.PEEK[] BODY.PEEK[]<${offset}.${length}>)`);
        assert.match(r.text, /OK FETCH completed/);
        assert.equal(r.literals[0]!.size, stored.length);
        assert.equal(r.literals[0]!.sha, storedSha, 'BODY[] is the stored message, byte for byte');
        if (i % 2 === 1) {
          assert.match(r.text, new RegExp(`BODY\\[\\]<${offset}> \\{${length}\\}`));
          assert.equal(r.literals[1]!.sha, sha(stored.subarray(offset, offset + length)));
        }
      });
      const pop = await pop3Login(server.ports.pop3);
      const retr = pop3Multiline(pop, 'RETR 1');
      await Promise.all(fetches);
      const { status, body } = await retr;
      // RFC 1939 §5: the size announced is what the client gets once the stuffing is undone.
      const wire = stored;
      assert.equal(status, `+OK ${wire.length} octets\r\n`);
      assert.equal(body.length, wire.length);
      assert.equal(sha(body), sha(wire));
      pop.close();
      for (const w of readers) w.close();
      console.log(
        `RSS baseline ${(baseline / MB).toFixed(0)} MB, after delivery ${(afterDelivery / MB).toFixed(0)} MB, ` +
          `peak ${(peakRss / MB).toFixed(0)} MB`,
      );
    } finally {
      sampling = false;
      await sampler;
    }
    const { slowestNoop, noops } = await pinger.stop();
    console.log(`slowest NOOP ${slowestNoop.toFixed(0)} ms of ${noops}`);
    assert.ok(noops > 0);
    // The bound is the point: a generous one on a loaded 2-core machine, far from a stalled loop.
    assert.ok(slowestNoop < 5000, `a NOOP took ${slowestNoop.toFixed(0)} ms`);
    // Ten whole copies would be 500 MB more (the code before streaming grew by 1.2 GB here). A streamed
    // read holds a few 64 KiB chunks per session; what RSS shows beyond that is chunks awaiting the
    // garbage collector and the summarizer worker's one copy during the delivery.
    assert.ok(peakRss - baseline < 300 * MB, `RSS grew by ${((peakRss - baseline) / MB).toFixed(0)} MB`);
  });

  test('FETCH, RETR and TOP are byte-exact for bare-LF mail, a missing last line end and lines starting with "."', async () => {
    const w = await imapLogin(server.ports.imap);
    const awkward = Buffer.from('Subject: awkward\n\n.first\n..second\r\nbare\rCR\n.\nlast line without end', 'latin1');
    w.write(`t0 APPEND INBOX {${awkward.length}+}\r\n`);
    w.write(awkward);
    w.write('\r\n');
    assert.match(await tagged(w, 't0'), /^t0 OK \[APPENDUID \d+ \d+\]/);
    const uid = Number(/UIDNEXT (\d+)/.exec((await w.imap('STATUS INBOX (UIDNEXT)')).text)![1]) - 1;
    const whole = await w.imap(`UID FETCH ${uid} (BODY.PEEK[] BODY.PEEK[]<7.9> BODY.PEEK[TEXT] BODY.PEEK[HEADER] RFC822.SIZE)`);
    assert.deepEqual(
      whole.literals.map((l) => l.sha),
      [sha(awkward), sha(awkward.subarray(7, 16)), sha(awkward.subarray(18)), sha(awkward.subarray(0, 18))],
    );
    assert.match(whole.text, new RegExp(`RFC822.SIZE ${awkward.length}`));
    w.close();

    const pop = await pop3Login(server.ports.pop3);
    pop.write('LIST\r\n');
    const list: string[] = [];
    for (let l = await pop.line(); l !== '.\r\n'; l = await pop.line()) list.push(l);
    const msg = list.length - 1;
    const wire = Buffer.from('Subject: awkward\r\n\r\n.first\r\n..second\r\nbare\rCR\r\n.\r\nlast line without end\r\n', 'latin1');
    const retr = await pop3Multiline(pop, `RETR ${msg}`);
    assert.equal(retr.status, `+OK ${wire.length} octets\r\n`);
    assert.equal(retr.body.toString('latin1'), wire.toString('latin1'));
    assert.equal(list[msg], `${msg} ${wire.length}\r\n`, 'LIST says what RETR sends');
    assert.equal((await pop3Multiline(pop, `TOP ${msg} 0`)).body.toString('latin1'), 'Subject: awkward\r\n\r\n');
    assert.equal((await pop3Multiline(pop, `TOP ${msg} 2`)).body.toString('latin1'), 'Subject: awkward\r\n\r\n.first\r\n..second\r\n');
    assert.equal((await pop3Multiline(pop, `TOP ${msg} 99`)).body.toString('latin1'), wire.toString('latin1'));
    pop.close();
  });

  test('APPEND of a literal over 1 MB is stored whole; an APPEND cut off mid-literal leaves nothing behind', async () => {
    const w = await imapLogin(server.ports.imap);
    const body = Buffer.alloc(3 * MB + 17, 'y');
    Buffer.from('Subject: large append\r\n\r\n').copy(body);
    w.write(`t0 APPEND INBOX (\\Seen) {${body.length}}\r\n`);
    assert.match(await w.line(), /^\+ /);
    for (let o = 0; o < body.length; o += 64 * 1024) w.write(body.subarray(o, o + 64 * 1024));
    w.write('\r\n');
    assert.match(await tagged(w, 't0'), /^t0 OK \[APPENDUID \d+ \d+\]/);
    const uid = Number(/UIDNEXT (\d+)/.exec((await w.imap('STATUS INBOX (UIDNEXT)')).text)![1]) - 1;
    const fetched = await w.imap(`UID FETCH ${uid} (BODY.PEEK[] FLAGS)`);
    assert.equal(fetched.literals[0]!.sha, sha(body));
    assert.match(fetched.text, /\\Seen/);
    const statusLine = async (c: Wire) => (await c.imap('STATUS INBOX (MESSAGES)')).text.split('\r\n')[0];
    const before = await statusLine(w);
    w.close();

    const cut = await imapLogin(server.ports.imap);
    cut.write(`t1 APPEND INBOX {${4 * MB}}\r\n`);
    assert.match(await cut.line(), /^\+ /);
    cut.write(Buffer.alloc(2 * MB, 'z'));
    // Wait until the server holds part of the body, then disconnect mid-literal.
    const tmp = join(server.dataDir, 'blobs', 'tmp');
    const check = await imapLogin(server.ports.imap);
    cut.close();
    // A command on another session after the disconnect: the abort runs on the server's loop before it is answered.
    for (let i = 0; i < 50 && readdirSync(tmp).length > 0; i++) await check.imap('NOOP');
    assert.deepEqual(readdirSync(tmp), [], 'no partial body left in blobs/tmp');
    assert.equal(await statusLine(check), before);
    check.close();
  });

  test('a streamed APPEND refused over quota, or for bad syntax after its literal, leaves no body behind', async () => {
    addUser(server.dataDir, 'tiny@example.com', 'tiny-password', '100k');
    // Files only: a removed body may leave its (empty) shard directory.
    const blobFiles = () =>
      readdirSync(join(server.dataDir, 'blobs'), { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath ?? e.path, e.name))
        .sort();
    const filesBefore = blobFiles();
    const w = await Wire.open(server.ports.imap);
    await w.line();
    assert.match((await w.imap('LOGIN tiny@example.com tiny-password')).text, /OK/);
    const body = Buffer.alloc(200 * 1024, 'q');
    w.write(`q1 APPEND INBOX {${body.length}}\r\n`);
    assert.match(await w.line(), /^\+ /);
    w.write(body);
    w.write('\r\n');
    assert.match(await tagged(w, 'q1'), /^q1 NO \[OVERQUOTA\]/);
    w.write(`q2 APPEND INBOX {${body.length}+}\r\n`);
    w.write(body);
    w.write(' (unclosed\r\n');
    assert.match(await tagged(w, 'q2'), /^q2 BAD /);
    assert.match((await w.imap('STATUS INBOX (MESSAGES)')).text, /MESSAGES 0/);
    assert.deepEqual(blobFiles(), filesBefore, 'no body stored, no partial body in blobs/tmp');
    w.close();
  });
});
