/**
 * Durability at every crash point (docs/reliability.md). For each operation
 * a chain of server lives runs on one data directory: each life is started
 * with MAILSTEAD_TEST_CRASH_AT naming one point, first checks what the
 * previous life left, then performs the operation with a real client and
 * dies at the point (SIGKILL, from inside). A last, unarmed life checks the
 * last case. The invariants:
 * - acknowledged => present (or, for removals, absent) and byte-identical;
 * - not acknowledged => absent or whole: a message is exactly one of the
 *   bodies a client sent, once per mailbox, in one of the places the
 *   operation allows (a MOVE leaves it in the source or in the target);
 * - UIDVALIDITY stays, UIDNEXT and HIGHESTMODSEQ never fall below what a
 *   client saw, and a new APPEND gets a UID above every UID a client saw.
 *
 * Clients: a raw IMAP socket (exact bytes, and it tells "tagged OK seen"
 * from "connection died first"), a raw LMTP socket, Python's poplib.
 * Build first (npm run build): the server is the built dist/.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import type { CrashPoint } from '../../src/observability/fault.js';
import { makeDataDir, startServer, type TestServer } from '../helpers/server.js';

// ------------------------------------------------------------ raw clients

interface Response {
  text: string;
  literals: Buffer[];
}

/** Lines and literals from a socket; null once the peer has gone (the server died). */
class LineSocket {
  private buf = Buffer.alloc(0);
  private closed = false;
  private wake: (() => void) | null = null;

  constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on('error', () => {}); // EPIPE / ECONNRESET when the server is gone: seen as close
  }

  static async open(port: number): Promise<LineSocket> {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return new LineSocket(socket);
  }

  write(data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  private async more(): Promise<boolean> {
    if (this.closed) return false;
    await new Promise<void>((resolve) => {
      this.wake = () => {
        this.wake = null;
        resolve();
      };
    });
    return true;
  }

  async line(): Promise<string | null> {
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i >= 0) {
        const line = this.buf.subarray(0, i).toString('latin1');
        this.buf = this.buf.subarray(i + 2);
        return line;
      }
      if (!(await this.more())) return null;
    }
  }

  async bytes(n: number): Promise<Buffer | null> {
    while (this.buf.length < n) if (!(await this.more())) return null;
    const out = Buffer.from(this.buf.subarray(0, n));
    this.buf = this.buf.subarray(n);
    return out;
  }

  close(): void {
    this.socket.destroy();
  }
}

class RawImap {
  private tags = 0;
  private constructor(private readonly io: LineSocket) {}

  static async login(port: number, user: string, password: string): Promise<RawImap> {
    const imap = new RawImap(await LineSocket.open(port));
    assert.match((await imap.response())!.text, /^\* OK/);
    const r = await imap.command(`LOGIN ${quote(user)} ${quote(password)}`);
    assert.match(r.tagged ?? 'died', /^OK/, 'login');
    return imap;
  }

  async response(): Promise<Response | null> {
    let text = '';
    const literals: Buffer[] = [];
    for (;;) {
      const line = await this.io.line();
      if (line === null) return null;
      text += line;
      const m = /\{(\d+)\}$/.exec(line);
      if (!m) return { text, literals };
      const bytes = await this.io.bytes(Number(m[1]));
      if (bytes === null) return null;
      literals.push(bytes);
    }
  }

  /** Sends a command (with an optional LITERAL+ argument at the end); tagged is null when the connection died first. */
  async command(cmd: string, literal?: Buffer): Promise<{ untagged: Response[]; tagged: string | null }> {
    const tag = `T${++this.tags}`;
    if (literal) this.io.write(Buffer.concat([Buffer.from(`${tag} ${cmd} {${literal.length}+}\r\n`), literal, Buffer.from('\r\n')]));
    else this.io.write(`${tag} ${cmd}\r\n`);
    const untagged: Response[] = [];
    for (;;) {
      const r = await this.response();
      if (!r) return { untagged, tagged: null };
      if (r.text.startsWith(`${tag} `)) return { untagged, tagged: r.text.slice(tag.length + 1) };
      untagged.push(r);
    }
  }

  close(): void {
    this.io.close();
  }
}

function quote(s: string): string {
  return `"${s.replace(/["\\]/g, '\\$&')}"`;
}

/** One LMTP transaction (RFC 2033) for one recipient; the reply to DATA, or null when the server died first. */
async function lmtpDeliver(port: number, rcpt: string, data: Buffer): Promise<string | null> {
  const io = await LineSocket.open(port);
  try {
    const reply = async (): Promise<string | null> => {
      for (;;) {
        const line = await io.line();
        if (line === null || /^\d{3} /.test(line)) return line;
      }
    };
    assert.match((await reply()) ?? '', /^220/);
    for (const [cmd, expect] of [
      ['LHLO crash.test', /^250/],
      ['MAIL FROM:<sender@example.org>', /^250/],
      [`RCPT TO:<${rcpt}>`, /^250/],
      ['DATA', /^354/],
    ] as const) {
      io.write(`${cmd}\r\n`);
      assert.match((await reply()) ?? 'died', expect, cmd);
    }
    io.write(Buffer.concat([data, Buffer.from('.\r\n')])); // data ends in CRLF and has no line starting with "."
    return await reply();
  } finally {
    io.close();
  }
}

const POP3_DELETE = `
import json, os, poplib
result = {'acked': False, 'found': False}
try:
    p = poplib.POP3('127.0.0.1', int(os.environ['PORT']), timeout=60)
    p.user(os.environ['USER_NAME'])
    p.pass_(os.environ['PASSWORD'])
    count = len(p.list()[1])
    for i in range(1, count + 1):
        if ('Subject: ' + os.environ['SUBJECT']).encode() in p.top(i, 0)[1]:
            p.retr(i)
            p.dele(i)
            result['found'] = True
            break
    result['acked'] = p.quit().startswith(b'+OK')
except Exception as e:
    result['error'] = repr(e)
print(json.dumps(result))
`;

/** Python poplib: log in, RETR and DELE the message with this subject, QUIT; acked when QUIT answered +OK. */
async function pop3Delete(port: number, user: string, password: string, subject: string): Promise<{ acked: boolean; found: boolean }> {
  const child = spawn('python3', ['-c', POP3_DELETE], {
    env: { ...process.env, PORT: String(port), USER_NAME: user, PASSWORD: password, SUBJECT: subject },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (out += t));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, `poplib script failed: ${out}`);
  return JSON.parse(out) as { acked: boolean; found: boolean };
}

// ------------------------------------------------------------ what the clients saw and sent

interface SeenMailbox {
  /** yes: must exist; maybe: an unacknowledged CREATE/RENAME/DELETE; no: must not. */
  exists: 'yes' | 'maybe' | 'no';
  uidValidity?: number;
  uidNext?: number;
  highestModSeq?: number;
}

interface SentMessage {
  bytes: Buffer;
  /** The sets of mailboxes the message may be in (once each); one of them must hold after a restart. */
  places: string[][];
  /** A flag an acknowledged STORE added. */
  mustHaveFlag?: string;
}

class World {
  readonly mailboxes = new Map<string, SeenMailbox>();
  readonly messages = new Map<string, SentMessage>();
  user = '';
  password = '';

  constructor(readonly dataDir: string) {}

  /** A message whose subject names it; CRLF, no line starting with ".". */
  message(subject: string): Buffer {
    return Buffer.from(
      [
        'From: Crash Test <sender@example.org>',
        `To: ${this.user}`,
        `Subject: ${subject}`,
        'Date: Mon, 07 Dec 2026 10:00:00 +0000',
        `Message-ID: <${subject}@crash.test>`,
        '',
        `The body of ${subject}.`,
        'x'.repeat(2000),
        '',
      ].join('\r\n'),
    );
  }

  sawUid(mailbox: string, uidValidity: number, uid: number): void {
    const seen = this.mailboxes.get(mailbox);
    assert.ok(seen, `mailbox ${mailbox} tracked`);
    if (seen.uidValidity !== undefined) assert.equal(uidValidity, seen.uidValidity, `UIDVALIDITY of ${mailbox}`);
    seen.uidValidity = uidValidity;
    seen.uidNext = Math.max(seen.uidNext ?? 0, uid + 1);
  }

  sawModSeq(mailbox: string, modSeq: number): void {
    const seen = this.mailboxes.get(mailbox)!;
    seen.highestModSeq = Math.max(seen.highestModSeq ?? 0, modSeq);
  }
}

interface MailboxSnapshot {
  uidValidity: number;
  uidNext: number;
  highestModSeq: number;
  messages: Array<{ uid: number; flags: string[]; modSeq: number; body: Buffer }>;
}

function codeNumber(responses: Response[], name: string): number | undefined {
  for (const r of responses) {
    const m = new RegExp(`\\[${name} (\\d+)\\]`).exec(r.text);
    if (m) return Number(m[1]);
  }
  return undefined;
}

async function snapshot(imap: RawImap): Promise<Map<string, MailboxSnapshot>> {
  const list = await imap.command('LIST "" "*"');
  assert.match(list.tagged ?? 'died', /^OK/);
  const result = new Map<string, MailboxSnapshot>();
  for (const r of list.untagged) {
    const m = /^\* LIST \([^)]*\) (?:"\/"|NIL) (?:"((?:[^"\\]|\\.)*)"|(\S+))$/.exec(r.text);
    if (!m) continue;
    const name = m[1] ?? m[2];
    const select = await imap.command(`SELECT ${quote(name)} (CONDSTORE)`);
    assert.match(select.tagged ?? 'died', /^OK/, `SELECT ${name}`);
    const snap: MailboxSnapshot = {
      uidValidity: codeNumber(select.untagged, 'UIDVALIDITY')!,
      uidNext: codeNumber(select.untagged, 'UIDNEXT')!,
      highestModSeq: codeNumber(select.untagged, 'HIGHESTMODSEQ')!,
      messages: [],
    };
    const exists = Number(select.untagged.map((u) => /^\* (\d+) EXISTS/.exec(u.text)).find(Boolean)?.[1] ?? 0);
    if (exists > 0) {
      const fetch = await imap.command('UID FETCH 1:* (UID FLAGS MODSEQ BODY.PEEK[])');
      assert.match(fetch.tagged ?? 'died', /^OK/);
      for (const f of fetch.untagged) {
        if (!/^\* \d+ FETCH/.test(f.text)) continue;
        snap.messages.push({
          uid: Number(/UID (\d+)/.exec(f.text)![1]),
          flags: /FLAGS \(([^)]*)\)/.exec(f.text)![1].split(' ').filter(Boolean),
          modSeq: Number(/MODSEQ \((\d+)\)/.exec(f.text)![1]),
          body: f.literals[0],
        });
      }
      assert.equal(snap.messages.length, exists, `every message of ${name} fetched`);
    }
    result.set(name, snap);
  }
  return result;
}

function subjectOf(body: Buffer): string {
  return /^Subject: (.*)$/m.exec(body.toString('latin1'))?.[1]?.trim() ?? '(none)';
}

/**
 * Checks the invariants against the store as a fresh session sees it after a
 * restart, then narrows every "maybe" to what was found (it must stay so).
 * With `append`, a new APPEND must get a UID above every UID seen in INBOX.
 */
async function verify(world: World, imap: RawImap, label: string, append: boolean): Promise<void> {
  const snap = await snapshot(imap);
  for (const name of snap.keys()) assert.ok(world.mailboxes.has(name), `${label}: unexpected mailbox ${name}`);
  for (const [name, seen] of world.mailboxes) {
    const found = snap.get(name);
    if (seen.exists === 'yes') assert.ok(found, `${label}: mailbox ${name} must exist`);
    if (seen.exists === 'no') assert.ok(!found, `${label}: mailbox ${name} must not exist`);
    if (!found) {
      seen.exists = 'no';
      continue;
    }
    seen.exists = 'yes';
    if (seen.uidValidity !== undefined) assert.equal(found.uidValidity, seen.uidValidity, `${label}: UIDVALIDITY of ${name} changed`);
    assert.ok(found.uidNext >= (seen.uidNext ?? 0), `${label}: UIDNEXT of ${name} fell from ${seen.uidNext} to ${found.uidNext}`);
    assert.ok(
      found.highestModSeq >= (seen.highestModSeq ?? 0),
      `${label}: HIGHESTMODSEQ of ${name} fell from ${seen.highestModSeq} to ${found.highestModSeq}`,
    );
    seen.uidValidity = found.uidValidity;
    seen.uidNext = found.uidNext;
    seen.highestModSeq = found.highestModSeq;
  }
  // Every stored message is whole: byte-identical to one a client sent, at most once per mailbox.
  const where = new Map<string, string[]>();
  for (const [name, mailbox] of snap) {
    for (const m of mailbox.messages) {
      const subject = subjectOf(m.body);
      const sent = world.messages.get(subject);
      assert.ok(sent, `${label}: ${name} holds a message nobody sent (${subject}, ${m.body.length} bytes)`);
      assert.ok(m.body.equals(sent.bytes), `${label}: ${subject} in ${name} is not byte-identical (${m.body.length} of ${sent.bytes.length} bytes)`);
      if (sent.mustHaveFlag) assert.ok(m.flags.includes(sent.mustHaveFlag), `${label}: ${subject} lost ${sent.mustHaveFlag}`);
      where.set(subject, [...(where.get(subject) ?? []), name]);
    }
  }
  for (const [subject, sent] of world.messages) {
    const found = (where.get(subject) ?? []).sort();
    const allowed = sent.places.map((p) => [...p].sort());
    assert.ok(
      allowed.some((p) => JSON.stringify(p) === JSON.stringify(found)),
      `${label}: ${subject} is in [${found.join(', ')}]; allowed: ${allowed.map((p) => `[${p.join(', ')}]`).join(' or ')}`,
    );
    sent.places = [found];
  }
  if (append) {
    const before = world.mailboxes.get('INBOX')!;
    const subject = `probe-${label}`;
    const bytes = world.message(subject);
    world.messages.set(subject, { bytes, places: [['INBOX']] });
    const r = await imap.command('APPEND INBOX', bytes);
    const m = /^OK \[APPENDUID (\d+) (\d+)\]/.exec(r.tagged ?? '');
    assert.ok(m, `${label}: probe APPEND answered ${r.tagged}`);
    assert.equal(Number(m[1]), before.uidValidity, `${label}: UIDVALIDITY of INBOX`);
    assert.ok(Number(m[2]) >= before.uidNext!, `${label}: new UID ${m[2]} reuses a UID below ${before.uidNext}`);
    world.sawUid('INBOX', Number(m[1]), Number(m[2]));
  }
}

// ------------------------------------------------------------ operations

interface Life {
  world: World;
  imap: RawImap;
  server: TestServer;
  /** Unique per case: names the messages and mailboxes this case makes. */
  id: string;
}

/** A prepared message in a mailbox, acknowledged (APPENDUID seen). */
async function prepare(life: Life, mailbox: string, subject: string, flags = ''): Promise<number> {
  const bytes = life.world.message(subject);
  life.world.messages.set(subject, { bytes, places: [[mailbox]] });
  const r = await life.imap.command(`APPEND ${quote(mailbox)} ${flags ? `(${flags}) ` : ''}`.trimEnd(), bytes);
  const m = /^OK \[APPENDUID (\d+) (\d+)\]/.exec(r.tagged ?? '');
  assert.ok(m, `prepare APPEND answered ${r.tagged}`);
  life.world.sawUid(mailbox, Number(m[1]), Number(m[2]));
  return Number(m[2]);
}

async function select(life: Life, mailbox: string): Promise<void> {
  const r = await life.imap.command(`SELECT ${quote(mailbox)} (CONDSTORE)`);
  assert.match(r.tagged ?? 'died', /^OK/);
  life.world.sawModSeq(mailbox, codeNumber(r.untagged, 'HIGHESTMODSEQ')!);
}

async function createMailbox(life: Life, name: string): Promise<void> {
  life.world.mailboxes.set(name, { exists: 'yes' });
  const r = await life.imap.command(`CREATE ${quote(name)}`);
  assert.match(r.tagged ?? 'died', /^OK/);
}

async function status(life: Life, name: string): Promise<SeenMailbox> {
  const r = await life.imap.command(`STATUS ${quote(name)} (UIDNEXT UIDVALIDITY HIGHESTMODSEQ)`);
  assert.match(r.tagged ?? 'died', /^OK/);
  const text = r.untagged.find((u) => u.text.startsWith('* STATUS'))!.text;
  const seen = life.world.mailboxes.get(name)!;
  seen.uidValidity = Number(/UIDVALIDITY (\d+)/.exec(text)![1]);
  seen.uidNext = Number(/UIDNEXT (\d+)/.exec(text)![1]);
  seen.highestModSeq = Number(/HIGHESTMODSEQ (\d+)/.exec(text)![1]);
  return seen;
}

/** Performs one operation; returns whether the client saw it acknowledged. */
type Operation = (life: Life) => Promise<boolean>;

const operations: Record<string, { points: Array<CrashPoint | `${CrashPoint}:${number}`>; run: Operation }> = {
  LMTP: {
    points: ['store.append.body-written', 'store.append.body-fsynced', 'store.append.metadata-committed', 'lmtp.reply-sent'],
    async run({ world, server, id }) {
      const subject = `lmtp-${id}`;
      const data = world.message(subject);
      const stored = Buffer.concat([Buffer.from('Return-Path: <sender@example.org>\r\n'), data]);
      const sent: SentMessage = { bytes: stored, places: [[], ['INBOX']] };
      world.messages.set(subject, sent);
      const reply = await lmtpDeliver(server.ports.lmtp, world.user, data);
      if (reply === null) return false;
      assert.match(reply, /^250 /);
      sent.places = [['INBOX']];
      const uid = /UID (\d+)/.exec(reply);
      if (uid) world.sawUid('INBOX', world.mailboxes.get('INBOX')!.uidValidity!, Number(uid[1]));
      return true;
    },
  },
  APPEND: {
    points: [
      'store.append.body-written',
      'store.append.body-fsynced',
      'store.append.metadata-committed',
      'imap.append.reply-sent',
      // MULTIAPPEND of two, killed after the second body: all or nothing (RFC 3502 §3).
      'store.append.body-written:2',
    ],
    async run(life) {
      const { world, imap, id } = life;
      const subjects = [`append-${id}`, ...(id.endsWith(':2') ? [`append-${id}-b`] : [])];
      const bodies = subjects.map((s) => world.message(s));
      const entries = subjects.map((s, i) => {
        const sent: SentMessage = { bytes: bodies[i], places: [[], ['INBOX']] };
        world.messages.set(s, sent);
        return sent;
      });
      // MULTIAPPEND: the second message is a second literal on the same command line.
      const r =
        bodies.length === 1
          ? await imap.command('APPEND INBOX (\\Seen)', bodies[0])
          : await imap.command(
              `APPEND INBOX {${bodies[0].length}+}\r\n${bodies[0].toString('latin1')}`,
              bodies[1],
            );
      if (r.tagged === null) return false;
      const m = /^OK \[APPENDUID (\d+) ([\d:,]+)\]/.exec(r.tagged);
      assert.ok(m, `APPEND answered ${r.tagged}`);
      for (const e of entries) e.places = [['INBOX']];
      const uids = m[2].split(/[:,]/).map(Number);
      world.sawUid('INBOX', Number(m[1]), Math.max(...uids));
      return true;
    },
  },
  COPY: {
    points: ['store.copy.metadata-written', 'store.copy.metadata-committed', 'imap.copy.reply-sent'],
    async run(life) {
      const subject = `copy-${life.id}`;
      const uid = await prepare(life, 'INBOX', subject);
      await select(life, 'INBOX');
      const sent = life.world.messages.get(subject)!;
      sent.places = [['INBOX'], ['INBOX', 'Archive']];
      const r = await life.imap.command(`UID COPY ${uid} Archive`);
      if (r.tagged === null) return false;
      const m = /^OK \[COPYUID (\d+) \d+ (\d+)\]/.exec(r.tagged);
      assert.ok(m, `COPY answered ${r.tagged}`);
      sent.places = [['INBOX', 'Archive']];
      life.world.sawUid('Archive', Number(m[1]), Number(m[2]));
      return true;
    },
  },
  MOVE: {
    points: ['store.move.metadata-written', 'store.move.metadata-committed', 'imap.move.reply-sent'],
    async run(life) {
      const subject = `move-${life.id}`;
      const uid = await prepare(life, 'INBOX', subject);
      await select(life, 'INBOX');
      const sent = life.world.messages.get(subject)!;
      sent.places = [['INBOX'], ['Archive']];
      const r = await life.imap.command(`UID MOVE ${uid} Archive`);
      if (r.tagged === null) return false;
      assert.match(r.tagged, /^OK/);
      const m = /\[COPYUID (\d+) \d+ (\d+)\]/.exec(r.untagged.map((u) => u.text).join('\n'));
      assert.ok(m, 'MOVE sent COPYUID');
      sent.places = [['Archive']];
      life.world.sawUid('Archive', Number(m[1]), Number(m[2]));
      return true;
    },
  },
  EXPUNGE: {
    points: ['store.expunge.metadata-written', 'store.expunge.metadata-committed', 'imap.expunge.reply-sent'],
    async run(life) {
      const subject = `expunge-${life.id}`;
      const uid = await prepare(life, 'INBOX', subject, '\\Deleted');
      await select(life, 'INBOX');
      const sent = life.world.messages.get(subject)!;
      sent.places = [['INBOX'], []];
      const r = await life.imap.command(`UID EXPUNGE ${uid}`);
      if (r.tagged === null) return false;
      assert.match(r.tagged, /^OK/);
      const modSeq = codeNumber([{ text: r.tagged, literals: [] }], 'HIGHESTMODSEQ');
      if (modSeq) life.world.sawModSeq('INBOX', modSeq);
      sent.places = [[]];
      return true;
    },
  },
  STORE: {
    points: ['store.flags.metadata-written', 'store.flags.metadata-committed', 'imap.store.reply-sent'],
    async run(life) {
      const subject = `store-${life.id}`;
      const uid = await prepare(life, 'INBOX', subject);
      await select(life, 'INBOX');
      const r = await life.imap.command(`UID STORE ${uid} +FLAGS (\\Flagged)`);
      if (r.tagged === null) return false;
      assert.match(r.tagged, /^OK/);
      const fetch = r.untagged.find((u) => /FETCH/.test(u.text));
      assert.ok(fetch && /\\Flagged/.test(fetch.text), 'STORE returned the new flags');
      life.world.sawModSeq('INBOX', Number(/MODSEQ \((\d+)\)/.exec(fetch.text)![1]));
      life.world.messages.get(subject)!.mustHaveFlag = '\\Flagged';
      return true;
    },
  },
  CREATE: {
    points: ['store.create.metadata-written', 'store.create.metadata-committed', 'imap.create.reply-sent'],
    async run({ world, imap, id }) {
      const name = `created-${id.replace(/[^a-z0-9]+/gi, '-')}`;
      world.mailboxes.set(name, { exists: 'maybe' });
      const r = await imap.command(`CREATE ${quote(name)}`);
      if (r.tagged === null) return false;
      assert.match(r.tagged, /^OK/);
      world.mailboxes.get(name)!.exists = 'yes';
      return true;
    },
  },
  RENAME: {
    points: ['store.rename.metadata-written', 'store.rename.metadata-committed', 'imap.rename.reply-sent'],
    async run(life) {
      const slug = life.id.replace(/[^a-z0-9]+/gi, '-');
      const [from, to] = [`old-${slug}`, `new-${slug}`];
      await createMailbox(life, from);
      const subject = `rename-${life.id}`;
      await prepare(life, from, subject);
      const seen = await status(life, from);
      // RENAME keeps UIDVALIDITY (RFC 9051 §6.3.6): whichever name survives carries what was seen.
      seen.exists = 'maybe';
      life.world.mailboxes.set(to, { ...seen });
      const sent = life.world.messages.get(subject)!;
      sent.places = [[from], [to]];
      const r = await life.imap.command(`RENAME ${quote(from)} ${quote(to)}`);
      if (r.tagged === null) return false;
      assert.match(r.tagged, /^OK/);
      life.world.mailboxes.get(from)!.exists = 'no';
      life.world.mailboxes.get(to)!.exists = 'yes';
      sent.places = [[to]];
      return true;
    },
  },
  DELETE: {
    points: ['store.delete.metadata-written', 'store.delete.metadata-committed', 'imap.delete.reply-sent'],
    async run(life) {
      const name = `doomed-${life.id.replace(/[^a-z0-9]+/gi, '-')}`;
      await createMailbox(life, name);
      const subject = `delete-${life.id}`;
      await prepare(life, name, subject);
      const seen = await status(life, name);
      seen.exists = 'maybe';
      const sent = life.world.messages.get(subject)!;
      sent.places = [[name], []];
      const r = await life.imap.command(`DELETE ${quote(name)}`);
      if (r.tagged === null) return false;
      assert.match(r.tagged, /^OK/);
      seen.exists = 'no';
      sent.places = [[]];
      return true;
    },
  },
  'POP3 UPDATE': {
    points: [
      'pop3.update.committed',
      'store.expunge.metadata-written',
      'store.expunge.metadata-committed',
      'pop3.update.reply-sent',
    ],
    async run(life) {
      const subject = `pop3-${life.id}`;
      await prepare(life, 'INBOX', subject);
      const sent = life.world.messages.get(subject)!;
      sent.places = [['INBOX'], []];
      const result = await pop3Delete(life.server.ports.pop3, life.world.user, life.world.password, subject);
      assert.ok(result.found, 'poplib found the message');
      if (!result.acked) return false;
      sent.places = [[]];
      return true;
    },
  },
};

// ------------------------------------------------------------ the chains

const CONFIG = { tls: { allowCleartextAuthFromLoopback: true } };

async function waitForDeath(server: TestServer, label: string): Promise<void> {
  if (server.process.exitCode === null && server.process.signalCode === null) await once(server.process, 'exit');
  assert.equal(server.process.signalCode, 'SIGKILL', `${label}: the server should have killed itself at the point`);
  assert.match(server.stderr(), /test crash point armed/);
}

async function runChain(name: string): Promise<void> {
  const op = operations[name];
  const world = new World(makeDataDir());
  // Life 0, unarmed: the account and the default mailboxes, and what a client sees of them.
  const first = await startServer({ dataDir: world.dataDir, config: CONFIG });
  world.user = first.initialAccount.address;
  world.password = first.initialAccount.password;
  {
    const imap = await RawImap.login(first.ports.imap, world.user, world.password);
    for (const [mailbox, snap] of await snapshot(imap)) {
      world.mailboxes.set(mailbox, { exists: 'yes', uidValidity: snap.uidValidity, uidNext: snap.uidNext, highestModSeq: snap.highestModSeq });
    }
    imap.close();
    assert.equal(await first.stop(), 0);
  }
  let previous = 'setup';
  for (const point of op.points) {
    const label = `${name} @ ${point}`;
    const server = await startServer({ dataDir: world.dataDir, config: CONFIG, env: { MAILSTEAD_TEST_CRASH_AT: point } });
    try {
      const imap = await RawImap.login(server.ports.imap, world.user, world.password);
      // The probe APPEND would itself reach an append point, so those lives check UIDNEXT only.
      const probe = !point.startsWith('store.append.') && !point.startsWith('imap.append.');
      await verify(world, imap, `after ${previous}`, probe);
      const acked = await op.run({ world, imap, server, id: point });
      imap.close();
      await waitForDeath(server, label);
      // Points after the commit that precede the reply leave the client without an answer; only reply-sent acknowledges.
      assert.equal(acked, point.endsWith('reply-sent'), `${label}: acknowledged`);
    } finally {
      await server.kill();
    }
    previous = point;
  }
  // The last life, unarmed: the last case's outcome, then a clean stop.
  const last = await startServer({ dataDir: world.dataDir, config: CONFIG });
  try {
    const imap = await RawImap.login(last.ports.imap, world.user, world.password);
    await verify(world, imap, `after ${previous}`, true);
    imap.close();
    assert.equal(await last.stop(), 0);
    assert.doesNotMatch(last.stderr(), /test crash point armed/);
  } finally {
    await last.kill();
    last.cleanup();
  }
}

describe('crash points: acknowledged => present, unacknowledged => absent or whole', { concurrency: 3 }, () => {
  for (const name of Object.keys(operations)) {
    // A chain is several server starts; on a loaded machine that takes longer than one test usually may.
    test(`${name} at ${operations[name].points.join(', ')}`, { timeout: 600_000 }, () => runChain(name));
  }
});

describe('startup recovery', () => {
  test('removes bodies no message refers to and sets reference counts right', async () => {
    const server = await startServer();
    const dataDir = server.dataDir;
    try {
      const { address } = server.initialAccount;
      // Killed, not stopped: after an orderly stop the next start does not walk the bodies (open-marks.ts).
      await server.kill();
      // What a crash between writing a body and committing its message would leave (bodies outside the
      // transaction, issue 11), and a reference count that disagrees with the messages.
      const db = new Database(`${dataDir}/mailstead.db`);
      const inbox = db.prepare("SELECT m.id FROM mailboxes m JOIN accounts a ON a.id = m.account_id WHERE a.address = ? AND m.name = 'INBOX'").get(address) as { id: number };
      db.prepare("INSERT INTO blobs (id, size, refcount) VALUES ('orphan', 5, 1)").run();
      db.prepare("INSERT INTO message_summaries (blob_id, summary) VALUES ('orphan', '{}')").run();
      db.prepare("INSERT INTO blobs (id, size, refcount) VALUES ('kept', 4, 7)").run();
      db.prepare(
        "INSERT INTO messages (mailbox_id, uid, blob_id, size, internal_date, flags, modseq, uidl, email_id) VALUES (?, 99, 'kept', 4, 0, '', 2, 'u99', 'M1')",
      ).run(inbox.id);
      db.close();
      // A body file written and synced whose message was never committed (a crash between the two).
      const orphanFile = join(dataDir, 'blobs', 'de', 'ad', 'dead'.padEnd(64, '0'));
      mkdirSync(dirname(orphanFile), { recursive: true });
      writeFileSync(orphanFile, 'never committed');

      const restarted = await startServer({ dataDir });
      assert.equal(await restarted.stop(), 0);
      assert.match(restarted.stderr(), /"orphanBlobs":2,"repairedReferenceCounts":1,"msg":"startup recovery repaired the store"/);
      assert.equal(existsSync(orphanFile), false);
      const after = new Database(`${dataDir}/mailstead.db`, { readonly: true });
      try {
        const value = (sql: string) => after.prepare(sql).pluck().get();
        assert.equal(value("SELECT count(*) FROM blobs WHERE id = 'orphan'"), 0);
        assert.equal(value("SELECT count(*) FROM message_summaries WHERE blob_id = 'orphan'"), 0);
        assert.equal(value("SELECT refcount FROM blobs WHERE id = 'kept'"), 1);
      } finally {
        after.close();
      }
      // Nothing left to repair: the next start is quiet.
      const again = await startServer({ dataDir });
      assert.equal(await again.stop(), 0);
      assert.doesNotMatch(again.stderr(), /startup recovery repaired/);
      // After an orderly stop, the next start does not walk the bodies: a file planted meanwhile stays.
      writeFileSync(orphanFile, 'planted after an orderly stop');
      const clean = await startServer({ dataDir });
      assert.equal(await clean.stop(), 0);
      assert.ok(existsSync(orphanFile), 'no walk after an orderly stop');
    } finally {
      server.cleanup();
    }
  });
});
