/**
 * The reliability suite's harness (issue 9). One real server per test file
 * (test/helpers/server.ts, a small config fit for hostile tests). Every case
 * has an id, a title, the bytes that matter and an expected answer class,
 * checked exactly. Around every case:
 *   before: a canary IMAP session is open (TLS, logged in, INBOX selected);
 *   after:  the server process is alive, the canary answers NOOP promptly,
 *           the server's VmRSS came back near its baseline, and no byte a
 *           client received during the case leaked a stack trace, a file
 *           path, SQL or a password used by the tests.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { addUser, startServer, type Ports, type TestServer } from '../helpers/server.js';

/** The answer classes a case can expect. `A then B` for a sequence. */
export type AnswerClass =
  | 'OK'
  | 'NO'
  | 'BAD'
  | 'BYE+close'
  | 'close'
  | '+OK'
  | '-ERR'
  | '-ERR+close'
  | '2xx'
  | '3xx'
  | '4xx'
  | '5xx'
  | '5xx+close'
  | 'refused'
  | 'TLS';
export type Observed = AnswerClass | AnswerClass[];

export interface Account {
  address: string;
  password: string;
}

/** Generous bounds: the machine is shared and loaded; these only catch a stalled or dead server. */
export const CANARY_NOOP_MS = 5_000;
const MEMORY_SLACK_KIB = 64 * 1024;
const MEMORY_SETTLE_MS = 60_000;
const REPLY_WAIT_MS = 30_000;

/** A client (plain, implicit TLS, or upgraded in place) that keeps every byte it received. */
export class Wire {
  socket: Socket;
  /** The TCP socket underneath (for a reset: `tcp.resetAndDestroy()`). */
  tcp: Socket;
  /** Everything received so far lives in buf[0, len) (grown by doubling: linear for large replies). */
  private buf = Buffer.alloc(16 * 1024);
  private len = 0;
  /** Bytes received up to the last mark(); replies are looked for after it. */
  private markAt = 0;
  closed = false;
  reset = false;
  private wakers = new Set<() => void>();

  constructor(
    socket: Socket,
    private readonly registry: Wire[],
    tcp?: Socket,
  ) {
    this.socket = socket;
    this.tcp = tcp ?? socket;
    registry.push(this);
    this.listen(socket);
  }

  private listen(socket: Socket): void {
    socket.on('data', (d: Buffer) => {
      if (this.len + d.length > this.buf.length) {
        const bigger = Buffer.alloc(Math.max(this.buf.length * 2, this.len + d.length));
        this.buf.copy(bigger, 0, 0, this.len);
        this.buf = bigger;
      }
      d.copy(this.buf, this.len);
      this.len += d.length;
      this.wakeAll();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET') this.reset = true;
    });
    socket.on('close', () => {
      if (socket !== this.socket) return;
      this.closed = true;
      this.wakeAll();
    });
  }

  private wakeAll(): void {
    for (const w of [...this.wakers]) w();
  }

  /** Everything received, plaintext before STARTTLS and decrypted after. */
  get received(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  text(from = 0): string {
    return this.buf.toString('latin1', from, this.len);
  }

  /** What arrived since the last mark(). */
  sinceMark(): string {
    return this.text(this.markAt);
  }

  /** Looks for `re` in what arrived since the mark, scanning only new bytes (plus some overlap) each time. */
  private scanner(re: RegExp): () => RegExpExecArray | null {
    let from = this.markAt;
    return () => {
      const m = re.exec(this.text(from));
      from = Math.max(this.markAt, this.len - 4096);
      return m;
    };
  }

  /** Replies after this point are what the next wait looks at. */
  mark(): void {
    this.markAt = this.len;
  }

  /** Waits until `pattern` matches the text since the mark; returns the match. */
  async waitFor(pattern: RegExp, ms = REPLY_WAIT_MS): Promise<RegExpExecArray> {
    const m = await this.waitUntil(this.scanner(pattern), ms, `${pattern}`);
    if (!m) throw new Error(`connection closed before ${pattern}; got ${JSON.stringify(this.text(this.markAt).slice(-600))}`);
    return m;
  }

  /** Polls `probe` on every received chunk or close; null when closed without a match. */
  async waitUntil<T>(probe: () => T | null | undefined, ms: number, what: string): Promise<T | null> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = probe();
      if (v) return v;
      if (this.closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out (${ms} ms) waiting for ${what}; got ${JSON.stringify(this.text(this.markAt).slice(-600))}`);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          this.wakers.delete(done);
          resolve();
        };
        const t = setTimeout(done, left);
        this.wakers.add(done);
      });
    }
  }

  async waitClosed(ms = REPLY_WAIT_MS): Promise<void> {
    await this.waitUntil(() => this.closed, ms, 'close');
  }

  send(data: string | Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed || this.closed) return resolve();
      if (this.socket.write(data)) resolve();
      else {
        const done = () => {
          this.socket.off('drain', done);
          this.socket.off('close', done);
          resolve();
        };
        this.socket.on('drain', done);
        this.socket.on('close', done);
      }
    });
  }

  /** Writes `total` bytes in pieces of `piece`, honouring backpressure; stops if the server closes. */
  async flood(total: number, piece: Buffer): Promise<number> {
    let sent = 0;
    while (sent < total && !this.closed && !this.socket.destroyed) {
      const n = Math.min(piece.length, total - sent);
      await this.send(n === piece.length ? piece : piece.subarray(0, n));
      sent += n;
    }
    return sent;
  }

  /** IMAP: the class of the tagged completion of `tag`, or BYE+close / close when the server hung up instead. */
  async imapAnswer(tag: string, ms = REPLY_WAIT_MS): Promise<AnswerClass> {
    const re = new RegExp(`(?:^|\\r\\n)${escapeRe(tag)} (OK|NO|BAD)[ \\r]`);
    const m = await this.waitUntil(this.scanner(re), ms, `tagged ${tag}`);
    if (m) return m[1] as AnswerClass;
    return /(^|\r\n)\* BYE /.test(this.text(this.markAt)) ? 'BYE+close' : 'close';
  }

  /** The tagged completion line of `tag` (after the mark). */
  tagged(tag: string): string {
    const re = new RegExp(`(?:^|\\r\\n)(${escapeRe(tag)} (?:OK|NO|BAD)[^\\r\\n]*)\\r\\n`);
    return re.exec(this.text(this.markAt))?.[1] ?? '';
  }

  /** IMAP: after a BYE, the close must follow. */
  async byeAndClose(ms = REPLY_WAIT_MS): Promise<AnswerClass> {
    await this.waitClosed(ms);
    return /(^|\r\n)\* BYE /.test(this.text(this.markAt)) ? 'BYE+close' : 'close';
  }

  /** POP3: the class of the next status line after the mark (+OK, -ERR, -ERR+close when the close follows). */
  async popAnswer(ms = REPLY_WAIT_MS): Promise<AnswerClass> {
    const m = await this.waitUntil(() => /^(\+OK|-ERR)[^\r\n]*\r\n/.exec(this.text(this.markAt)), ms, 'a POP3 status line');
    if (!m) return 'close';
    return m[1] as AnswerClass;
  }

  /** LMTP/SMTP: the class of the first final reply line (`NNN ` not `NNN-`) after the mark. */
  async smtpAnswer(ms = REPLY_WAIT_MS): Promise<AnswerClass> {
    const m = await this.waitUntil(() => /(?:^|\r\n)([2345])\d\d [^\r\n]*\r\n/.exec(this.text(this.markAt)), ms, 'an LMTP reply');
    if (!m) return 'close';
    return `${m[1]}xx` as AnswerClass;
  }

  /** Upgrades in place (STARTTLS/STLS); later bytes are decrypted into `received`. */
  async startTls(): Promise<void> {
    const plain = this.socket;
    const secure = tlsConnect({ socket: plain, rejectUnauthorized: false, servername: 'localhost' });
    this.socket = secure;
    this.listen(secure);
    plain.removeAllListeners('data');
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
      secure.once('close', () => reject(new Error('closed during the TLS handshake')));
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]);
}

/** Everything a reply must never show a client (issue 9). Passwords are added per suite. */
export const LEAK_PATTERNS: Array<[string, RegExp]> = [
  ['stack trace', / {4}at /],
  ['source position', /\.(ts|js):\d/],
  ['file path', /\/work\b|\/tmp\/|dist\/|node_modules/],
  ['SQL', /SQLITE|\bSELECT\s+[\w*, ]+\s+FROM\b|\bINSERT\s+INTO\b|\bUPDATE\s+\w+\s+SET\b|\bDELETE\s+FROM\b/],
];

export interface Ctx {
  server: TestServer;
  ports: Ports;
  admin: Account;
  /** Accounts created for the suite, by short name. */
  users: Record<string, Account>;
  /** Raw TCP (plain) or implicit TLS to a listener, optionally from another loopback address. */
  open(port: keyof Ports, opts?: { from?: string }): Promise<Wire>;
  /**
   * IMAP over implicit TLS, greeted; logged in (and INBOX selected) when asked. Without a login it
   * comes from a fresh loopback address, so failed logins of one case never throttle another.
   */
  imap(opts?: { login?: Account; select?: string; from?: string; plain?: boolean }): Promise<Wire>;
  /** POP3 over implicit TLS, greeted; logged in when asked (from a fresh address when not). */
  pop3(opts?: { login?: Account; from?: string; plain?: boolean }): Promise<Wire>;
  /** LMTP, greeted and past LHLO. */
  lmtp(): Promise<Wire>;
  /** Delivers over LMTP; returns the reply class of the end of DATA. */
  deliver(to: Account, message: Buffer | string): Promise<AnswerClass>;
  /** Messages in INBOX. */
  count(user: Account, mailbox?: string): Promise<number>;
  /** A loopback source address not used before in this suite (127.0.1.1, 127.0.1.2, …). */
  fresh(): string;
  /** Records a secret that must never appear in a reply. */
  secret(s: string): void;
}

export interface Case {
  id: string;
  title: string;
  /** The exact bytes that matter (documentation; the run sends them). */
  sends?: string;
  expect: Observed;
  run(ctx: Ctx): Promise<Observed>;
  /** Skips the memory check (the case starts its own server, for example). */
  skipMemory?: boolean;
}

export interface SuiteOptions {
  config?: Record<string, unknown>;
  users?: string[];
  /**
   * How far above its baseline the server's RSS may stay after a case (default 64 MiB). A suite that
   * delivers messages of tens of megabytes allows more: the allocator keeps freed pages of a few such
   * messages, which is not a leak; growth case after case still fails.
   */
  memorySlackMiB?: number;
  /** Runs once after start, before the baseline is taken. */
  setup?(ctx: Ctx): Promise<void>;
}

/** The config of the reliability servers: small limits, TLS required for passwords. */
export const HOSTILE_CONFIG = {
  unauthenticatedTimeoutSeconds: 3,
  authFailureDelayMs: 50,
  tls: { allowCleartextAuthFromLoopback: false },
  limits: { maxConnections: 2000, maxConnectionsPerIp: 200, maxMessageBytes: 64 * 1024 * 1024 },
};

export function passwordFor(name: string): string {
  return `Rel-${name}-pw-7c1f9e`;
}

/** Defines a node:test suite: one server for all cases, checks around every case. */
export function reliabilitySuite(name: string, opts: SuiteOptions, cases: Case[]): void {
  const ids = new Set<string>();
  for (const c of cases) {
    assert.ok(/^R\d{3}$/.test(c.id), `bad case id ${c.id}`);
    assert.ok(!ids.has(c.id), `duplicate case id ${c.id}`);
    ids.add(c.id);
  }
  describe(name, { timeout: 30 * 60_000 }, () => {
    let server: TestServer;
    let canary: Wire;
    let canaryTag = 0;
    let baseline = 0;
    const wires: Wire[] = [];
    const secrets = new Set<string>();
    const users: Record<string, Account> = {};
    let ctx: Ctx;

    const openCanary = async () => {
      canary = await ctx.imap({ login: ctx.admin, select: 'INBOX' });
    };

    before(async () => {
      server = await startServer({ config: { ...HOSTILE_CONFIG, ...opts.config } });
      for (const u of opts.users ?? []) {
        users[u] = { address: `${u}@example.com`, password: passwordFor(u) };
        addUser(server.dataDir, users[u].address, users[u].password);
      }
      ctx = makeCtx(server, users, wires, secrets);
      secrets.add(server.initialAccount.password);
      for (const u of Object.values(users)) secrets.add(u.password);
      await opts.setup?.(ctx);
      await openCanary();
      baseline = rssKiB(server.process.pid!);
    });

    after(async () => {
      for (const w of wires) w.destroy();
      await server?.stop();
      server?.cleanup();
    });

    for (const c of cases) {
      test(`${c.id} ${c.title}`, { timeout: 5 * 60_000 }, async () => {
        if (canary.closed) await openCanary();
        const start = wires.length;
        let observed: Observed;
        try {
          observed = await c.run(ctx);
        } finally {
          // Connections the case opened are closed before the checks (their slots free again).
          for (const w of wires.slice(start)) if (w !== canary) w.destroy();
        }
        assert.deepEqual(observed, c.expect, `${c.id}: answer class`);

        // 1. The server is alive.
        assert.equal(server.process.exitCode, null, `${c.id}: the server exited`);
        assert.equal(server.process.signalCode, null, `${c.id}: the server was killed`);
        // 2. The canary, opened before the case, still answers NOOP promptly.
        const tag = `C${++canaryTag}`;
        canary.mark();
        await canary.send(`${tag} NOOP\r\n`);
        assert.equal(await canary.imapAnswer(tag, CANARY_NOOP_MS), 'OK', `${c.id}: the canary did not answer NOOP`);
        // 3. Memory comes back near its baseline (polled: the GC runs when it will).
        if (!c.skipMemory) {
          const pid = server.process.pid!;
          const deadline = Date.now() + MEMORY_SETTLE_MS;
          let rss = rssKiB(pid);
          const slack = (opts.memorySlackMiB ?? MEMORY_SLACK_KIB / 1024) * 1024;
          while (rss > baseline + slack && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 250));
            rss = rssKiB(pid);
          }
          assert.ok(rss <= baseline + slack, `${c.id}: server RSS ${rss} KiB stays above baseline ${baseline} KiB + ${slack / 1024} MiB`);
        }
        // 4. Nothing leaked into any reply.
        for (const w of wires.slice(start).concat(canary)) assertNoLeak(c.id, w.received, secrets);
      });
    }
  });
}

export function assertNoLeak(id: string, bytes: Buffer, secrets: Iterable<string>): void {
  // Large replies (FETCH of a big message) are scanned in overlapping windows to keep memory flat.
  const text = bytes.toString('latin1');
  for (const [what, re] of LEAK_PATTERNS) {
    const m = re.exec(text);
    assert.ok(!m, `${id}: a reply leaked a ${what}: ${JSON.stringify(text.slice(Math.max(0, (m?.index ?? 0) - 80), (m?.index ?? 0) + 80))}`);
  }
  for (const s of secrets) assert.ok(!text.includes(s), `${id}: a reply leaked a password`);
}

function makeCtx(server: TestServer, users: Record<string, Account>, wires: Wire[], secrets: Set<string>): Ctx {
  const ports = server.ports;
  const open = async (port: keyof Ports, opts: { from?: string } = {}): Promise<Wire> => {
    const implicit = port === 'imaps' || port === 'pop3s';
    const tcp = netConnect({ host: '127.0.0.1', port: ports[port], localAddress: opts.from });
    const socket: Socket = implicit ? tlsConnect({ socket: tcp, rejectUnauthorized: false, servername: 'localhost' }) : tcp;
    tcp.on('error', () => {});
    const w = new Wire(socket, wires, tcp);
    await new Promise<void>((resolve, reject) => {
      socket.once(implicit ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    return w;
  };
  let tagN = 0;
  let freshN = 0;
  const ctx: Ctx = {
    server,
    ports,
    admin: server.initialAccount,
    users,
    open,
    async imap(opts = {}) {
      const w = await open(opts.plain ? 'imap' : 'imaps', { from: opts.from ?? (opts.login ? undefined : ctx.fresh()) });
      await w.waitFor(/^\* OK [^\r\n]*\r\n/);
      if (opts.login) {
        const t = `L${++tagN}`;
        w.mark();
        await w.send(`${t} LOGIN "${opts.login.address}" "${opts.login.password}"\r\n`);
        assert.equal(await w.imapAnswer(t), 'OK', `login of ${opts.login.address}: ${w.text()}`);
        if (opts.select) {
          w.mark();
          await w.send(`${t}s SELECT "${opts.select}"\r\n`);
          assert.equal(await w.imapAnswer(`${t}s`), 'OK', `SELECT ${opts.select}`);
        }
      }
      w.mark();
      return w;
    },
    async pop3(opts = {}) {
      const w = await open(opts.plain ? 'pop3' : 'pop3s', { from: opts.from ?? (opts.login ? undefined : ctx.fresh()) });
      await w.waitFor(/^\+OK [^\r\n]*\r\n/);
      if (opts.login) {
        w.mark();
        await w.send(`USER ${opts.login.address}\r\n`);
        await w.waitFor(/^\+OK[^\r\n]*\r\n/);
        w.mark();
        await w.send(`PASS ${opts.login.password}\r\n`);
        assert.equal(await w.popAnswer(), '+OK', `POP3 login: ${w.text()}`);
      }
      w.mark();
      return w;
    },
    async lmtp() {
      const w = await open('lmtp');
      await w.waitFor(/^220 [^\r\n]*\r\n/);
      w.mark();
      await w.send('LHLO reliability.example\r\n');
      await w.waitFor(/(^|\r\n)250 [^\r\n]*\r\n/);
      w.mark();
      return w;
    },
    async deliver(to, message) {
      const w = await ctx.lmtp();
      await w.send(`MAIL FROM:<sender@example.org>\r\nRCPT TO:<${to.address}>\r\nDATA\r\n`);
      await w.waitFor(/(^|\r\n)354 [^\r\n]*\r\n/);
      w.mark();
      const bytes = Buffer.isBuffer(message) ? message : Buffer.from(message, 'utf8');
      await w.send(dotStuff(bytes));
      await w.send(bytes.length && bytes.subarray(-2).toString() === '\r\n' ? '.\r\n' : '\r\n.\r\n');
      const cls = await w.smtpAnswer(120_000);
      await w.send('QUIT\r\n');
      w.destroy();
      return cls;
    },
    async count(user, mailbox = 'INBOX') {
      const w = await ctx.imap({ login: user });
      await w.send(`S STATUS "${mailbox}" (MESSAGES)\r\n`);
      await w.imapAnswer('S');
      const m = /\* STATUS \S+ \(MESSAGES (\d+)\)/.exec(w.text());
      w.destroy();
      assert.ok(m, `STATUS ${mailbox}: ${w.text()}`);
      return Number(m[1]);
    },
    fresh() {
      freshN++;
      return `127.0.${1 + Math.floor(freshN / 250)}.${1 + (freshN % 250)}`;
    },
    secret(s) {
      secrets.add(s);
    },
  };
  return ctx;
}

/** RFC 5321 §4.5.2 transparency: a line starting with "." gets another. */
export function dotStuff(bytes: Buffer): Buffer {
  const s = bytes.toString('latin1');
  if (!s.startsWith('.') && !s.includes('\r\n.') && !s.includes('\n.')) return bytes;
  return Buffer.from(s.replace(/(^|\n)\./g, '$1..'), 'latin1');
}

/** A small RFC 5322 message with CRLF line ends. */
export function message(subject: string, body = `Body of ${subject}\r\n`, extraHeaders = ''): string {
  return (
    `From: Sender <sender@example.org>\r\nTo: someone@example.com\r\nSubject: ${subject}\r\n` +
    `Date: Mon, 7 Dec 2026 10:00:00 +0000\r\nMessage-ID: <${Math.random().toString(36).slice(2)}@example.org>\r\n` +
    `MIME-Version: 1.0\r\n${extraHeaders}` +
    (/content-type:/i.test(extraHeaders) ? '' : 'Content-Type: text/plain; charset=utf-8\r\n') +
    `\r\n${body}`
  );
}

export type { TLSSocket };
