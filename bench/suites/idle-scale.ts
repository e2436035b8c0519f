/**
 * W6 idle scale: N authenticated IMAPS sessions, each with INBOX selected and
 * in IDLE, on mailboxes of several sizes (default 0, 10,000 and 100,000
 * messages). Per server and size it reports the server memory per session
 * ((memory with N sessions − memory before) / N), the memory once they have
 * all logged out (against the figure before: it must come back within 1.5×),
 * the time to open them, and the push latency (LMTP delivery → `* n EXISTS`)
 * to one of the sessions while all N are idle on the same mailbox.
 *
 * Memory is PSS summed over the server's processes, so Dovecot's forked
 * processes do not count their shared libraries once each (for Mailstead,
 * one process, PSS ≈ RSS).
 *
 * The client is a lean raw TLS client (one socket and one line buffer per
 * session) so that 50,000 sessions fit in the bench process. With
 * `--sessions N` above 2,000 only Mailstead is measured. The file-descriptor
 * limit of the bench and of the server is raised with prlimit(1); beyond one
 * loopback address's ephemeral ports the client binds 127.0.0.x source
 * addresses in turn.
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { fixedSizeMessage } from '../lib/corpus.js';
import { LmtpClient } from '../lib/lmtp-client.js';
import { pssBytes } from '../lib/memory.js';
import type { BenchServer } from '../lib/servers.js';
import { percentile } from '../lib/stats.js';
import type { BenchContext, Row } from '../lib/suite.js';
import { row } from '../lib/suite.js';
import { settled } from './memory.js';

/** Sessions opened at once: enough to keep both cores busy, few enough not to time out handshakes. */
const OPENING_CONCURRENCY = 64;
/** Sessions per 127.0.0.x source address: well inside one address's ephemeral port range. */
const SESSIONS_PER_ADDRESS = 20_000;
const DEFAULT_SESSIONS = 2_000;
/**
 * Dovecot 2.3 from Debian closes connections past about 1,000 sessions of one
 * user here, whatever limits widenDovecotLimits raises: it is measured with at
 * most this many (its figures are per session, so still comparable).
 */
const DOVECOT_MAX_SESSIONS = 900;
const PUSH_SAMPLES = 20;
const TIMEOUT_MS = 120_000;

/** One idle session: a TLS socket and the lines it has not consumed yet. */
class IdleSession {
  private buf = '';
  private waiter: { test: (line: string) => boolean; resolve: (line: string) => void; reject: (e: Error) => void } | null = null;
  onLine: ((line: string) => void) | null = null;

  private constructor(readonly socket: TLSSocket) {
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => {
      this.buf += text;
      let i: number;
      while ((i = this.buf.indexOf('\r\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 2);
        this.onLine?.(line);
        if (this.waiter?.test(line)) {
          const w = this.waiter;
          this.waiter = null;
          w.resolve(line);
        }
      }
    });
    const fail = (e: Error) => {
      const w = this.waiter;
      this.waiter = null;
      w?.reject(e);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  static open(port: number, certPem: string, localAddress: string): Promise<IdleSession> {
    return new Promise((resolve, reject) => {
      const tcp = netConnect({ host: '127.0.0.1', port, localAddress });
      const socket = tlsConnect({ socket: tcp, ca: [certPem], servername: 'localhost' });
      const s = new IdleSession(socket);
      s.until((l) => l.startsWith('* OK')).then(() => resolve(s), reject);
    });
  }

  until(test: (line: string) => boolean): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer within timeout')), TIMEOUT_MS);
      this.waiter = {
        test,
        resolve: (l) => (clearTimeout(timer), resolve(l)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
    });
  }

  async command(tag: string, text: string): Promise<void> {
    const done = this.until((l) => l.startsWith(`${tag} `));
    this.socket.write(`${tag} ${text}\r\n`);
    const line = await done;
    if (!line.startsWith(`${tag} OK`)) throw new Error(`${text.split(' ')[0]}: ${line}`);
  }

  async idle(): Promise<void> {
    const cont = this.until((l) => l.startsWith('+'));
    this.socket.write('i IDLE\r\n');
    await cont;
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * Raises the soft file-descriptor limit of `pid` to `n`, and the hard one when
 * allowed (root with CAP_SYS_RESOURCE); fails with the reachable figure otherwise.
 */
function raiseFdLimit(pid: number, n: number): void {
  if (spawnSync('prlimit', ['--pid', String(pid), `--nofile=${n}:${n}`]).status === 0) return;
  const hard = Number(spawnSync('prlimit', ['--pid', String(pid), '--nofile', '--raw', '--noheadings', '--output', 'HARD'], { encoding: 'utf8' }).stdout.trim());
  if (hard >= n && spawnSync('prlimit', ['--pid', String(pid), `--nofile=${n}:${hard}`]).status === 0) return;
  throw new Error(`idlescale needs ${n} file descriptors but the hard limit of process ${pid} is ${hard} and cannot be raised here (no CAP_SYS_RESOURCE): use --sessions ${Math.max(0, hard - 2048)} or less`);
}

const memoryOf = (s: BenchServer) => s.pids().reduce((sum, pid) => sum + pssBytes(pid), 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Lets Dovecot hold thousands of sessions of one user from one address (its defaults stop at 100 and 1,000 processes). */
function widenDovecotLimits(server: BenchServer, sessions: number): void {
  if (!server.dataDir) return;
  const configFile = join(server.dataDir, 'dovecot.conf');
  appendFileSync(
    configFile,
    `\n# bench idlescale\nmail_max_userip_connections = ${sessions + 100}\ndefault_process_limit = ${sessions + 100}\ndefault_client_limit = ${2 * sessions + 1000}\ndefault_vsz_limit = 0\n` +
      // anvil and stats keep a connection per process: their default 1,000 stops the 1,001st session.
      `service anvil {\n  client_limit = ${2 * sessions + 1000}\n}\nservice stats {\n  client_limit = ${2 * sessions + 1000}\n}\n`,
  );
  const r = spawnSync('doveadm', ['-c', configFile, 'reload'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`doveadm reload: ${r.stderr.trim()}`);
}

/** Fills INBOX of `user` up to `count` small messages with MULTIAPPEND in batches (faster than LMTP for 100,000). */
async function seed(server: BenchServer, user: string, password: string, count: number): Promise<void> {
  if (count === 0) return;
  const s = await IdleSession.open(server.imaps, server.certPem, '127.0.0.1');
  try {
    await s.command('l', `LOGIN "${user}" "${password}"`);
    const batch = 1000;
    for (let done = 0; done < count; done += batch) {
      const n = Math.min(batch, count - done);
      const parts: string[] = [];
      for (let i = 0; i < n; i++) {
        const body = fixedSizeMessage(done + i, 600, user).toString('latin1');
        parts.push(`{${Buffer.byteLength(body, 'latin1')}+}\r\n${body}`);
      }
      const ok = s.until((l) => l.startsWith('a '));
      s.socket.write(`a APPEND INBOX ${parts.join(' ')}\r\n`);
      const line = await ok;
      if (!line.startsWith('a OK')) throw new Error(`seeding ${user}: ${line}`);
    }
  } finally {
    s.close();
  }
}

interface Measured {
  perSessionBytes: number;
  beforeBytes: number;
  /** 5 s after the last session closed (the figure before issue 12's follow-up). */
  afterClose5sBytes: number;
  /** Once memory stopped moving (3 samples 3 s apart within 1 %, at most 60 s): Mailstead gives memory back ~10 s after a drop (memory-release.ts). */
  afterCloseBytes: number;
  openSeconds: number;
  pushMs: number[];
}

async function measure(ctx: BenchContext, server: BenchServer, user: string, password: string, sessions: number): Promise<Measured> {
  await sleep(2000);
  const beforeBytes = memoryOf(server);
  const open: IdleSession[] = [];
  const t0 = performance.now();
  let next = 0;
  let idling = 0;
  const opener = async () => {
    for (;;) {
      const i = next++;
      if (i >= sessions) return;
      const address = `127.0.0.${1 + Math.floor(i / SESSIONS_PER_ADDRESS)}`;
      const s = await IdleSession.open(server.imaps, server.certPem, address);
      open.push(s);
      await s.command('l', `LOGIN "${user}" "${password}"`);
      await s.command('s', 'SELECT INBOX');
      await s.idle();
      if (++idling % 1000 === 0) ctx.progress(`${server.name}: ${idling} sessions in IDLE`);
    }
  };
  try {
    await Promise.all(Array.from({ length: OPENING_CONCURRENCY }, opener));
    const openSeconds = (performance.now() - t0) / 1000;
    await sleep(3000);
    const withSessions = memoryOf(server);
    // Push to the first session opened, while every other one idles on the same mailbox.
    const watched = open[0];
    const lmtp = await LmtpClient.open(server.lmtp);
    const pushMs: number[] = [];
    try {
      for (let k = 0; k < (ctx.quick ? 3 : PUSH_SAMPLES); k++) {
        const seen = watched.until((l) => /^\* \d+ EXISTS/.test(l));
        const t = performance.now();
        await lmtp.send('bench@example.org', user, fixedSizeMessage(2_000_000 + k, 2048, user));
        await seen;
        pushMs.push(performance.now() - t);
        // Let every other session finish its sync before the next sample.
        await sleep(ctx.quick ? 200 : 1000);
      }
    } finally {
      await lmtp.close();
    }
    for (const s of open.splice(0)) s.close();
    await sleep(5000);
    const afterClose5sBytes = memoryOf(server);
    const afterCloseBytes = await settled(() => memoryOf(server), 60_000, 3000);
    return { perSessionBytes: (withSessions - beforeBytes) / sessions, beforeBytes, afterClose5sBytes, afterCloseBytes, openSeconds, pushMs };
  } finally {
    for (const s of open) s.close();
  }
}

/**
 * The reference: what a bare idle TLS socket costs in a Node.js server with
 * default settings (same Node, P-256 certificate), measured like a session.
 */
async function bareTlsPerSocket(ctx: BenchContext, sockets: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'idlescale-tls-'));
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost', '-keyout', key, '-out', cert, '-days', '1']);
  if (made.status !== 0) throw new Error('openssl could not make a certificate');
  const script = `const tls=require('node:tls'),fs=require('node:fs');const held=[];
tls.createServer({key:fs.readFileSync(${JSON.stringify(key)}),cert:fs.readFileSync(${JSON.stringify(cert)})},(s)=>{held.push(s);s.on('error',()=>{});s.write('* OK\\r\\n');})
.listen(0,'127.0.0.1',function(){process.stdout.write(this.address().port+'\\n');});`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
      child.once('exit', () => reject(new Error('bare TLS server exited')));
    });
    raiseFdLimit(child.pid!, sockets + 2048);
    const certPem = readFileSync(cert, 'utf8');
    await sleep(1000);
    const before = pssBytes(child.pid!);
    const open: IdleSession[] = [];
    let next = 0;
    const opener = async () => {
      for (let i = next++; i < sockets; i = next++) open.push(await IdleSession.open(port, certPem, `127.0.0.${1 + Math.floor(i / SESSIONS_PER_ADDRESS)}`));
    };
    try {
      await Promise.all(Array.from({ length: OPENING_CONCURRENCY }, opener));
      await sleep(3000);
      const perSocket = (pssBytes(child.pid!) - before) / sockets;
      ctx.progress(`idlescale: a bare idle Node TLS socket costs ${(perSocket / 1024).toFixed(1)} KB`);
      return perSocket;
    } finally {
      for (const s of open) s.close();
    }
  } finally {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function idleScaleSuite(ctx: BenchContext): Promise<Row[]> {
  const sessions = ctx.sessions ?? (ctx.quick ? 100 : DEFAULT_SESSIONS);
  const sizes = ctx.idleMailboxes ?? (ctx.quick ? [0, 1000] : [0, 10_000, 100_000]);
  // Dovecot forks per session: past 2,000 the comparison measures its process table, not a design.
  const servers = sessions > DEFAULT_SESSIONS ? ctx.servers.filter((s) => s.name === 'mailstead') : ctx.servers;
  const fds = sessions + 2048;
  raiseFdLimit(process.pid, fds);
  const rows: Row[] = [];
  const bare = await bareTlsPerSocket(ctx, sessions);
  rows.push(
    row('idlescale-bare-tls', `memory per bare idle Node.js TLS socket (reference, ${sessions.toLocaleString('en')} sockets)`, 'KB', 'lower', new Map([['mailstead', [bare / 1024]]]), {
      note: 'a Node.js TLS server that only holds the sockets: the floor under a Node.js session',
    }),
  );
  for (const [i, size] of sizes.entries()) {
    const results = new Map<BenchServer, Measured>();
    for (const server of servers) {
      // Dovecot forks a process per session; Mailstead holds them all in one process.
      if (server.name === 'mailstead') for (const pid of server.pids()) raiseFdLimit(pid, fds);
      if (i === 0) widenDovecotLimits(server, sessions);
      const account = server.crowd[i];
      if (!account) throw new Error(`idlescale: no account for a ${i + 1}th mailbox size`);
      ctx.progress(`idlescale ${server.name}: seeding ${size} messages`);
      await seed(server, account.user, account.password, size);
      const n = server.name === 'dovecot' ? Math.min(sessions, DOVECOT_MAX_SESSIONS) : sessions;
      ctx.progress(`idlescale ${server.name}: ${n} sessions on ${size} messages`);
      let m: Measured;
      try {
        m = await measure(ctx, server, account.user, account.password, n);
      } catch (err) {
        // One server failing (e.g. closing sessions past its limits) costs its figures, not the run.
        ctx.progress(`idlescale ${server.name} ${size} messages: not measured: ${(err as Error).message}`);
        continue;
      }
      results.set(server, m);
      ctx.progress(
        `idlescale ${server.name} ${size} messages: ${(m.perSessionBytes / 1024).toFixed(1)} KB/session, before ${(m.beforeBytes / 2 ** 20).toFixed(0)} MiB, ` +
          `after close ${(m.afterClose5sBytes / 2 ** 20).toFixed(0)} MiB at 5 s, ${(m.afterCloseBytes / 2 ** 20).toFixed(0)} MiB settled, open ${m.openSeconds.toFixed(1)} s, push p99 ${percentile(m.pushMs, 99).toFixed(1)} ms`,
      );
    }
    const values = (f: (m: Measured) => number) => new Map([...results].map(([s, m]) => [s.name, [f(m)]]));
    const at = `${sessions.toLocaleString('en')} IMAPS sessions in IDLE, ${size.toLocaleString('en')} messages`;
    rows.push(
      row(`idlescale-kb-${size}`, `memory per session (${at})`, 'KB', 'lower', values((m) => m.perSessionBytes / 1024), {
        note: `PSS summed over the server processes, (with sessions − before) / sessions${sessions > DOVECOT_MAX_SESSIONS ? `; Dovecot with ${DOVECOT_MAX_SESSIONS} sessions (it closes connections past ~1,000 here)` : ''}`,
      }),
      row(`idlescale-after-${size}`, `memory after the sessions closed (settled) / before (${at})`, '×', 'lower', values((m) => m.afterCloseBytes / m.beforeBytes), {
        detail: Object.fromEntries([...results].map(([s, m]) => [s.name, { beforeMiB: m.beforeBytes / 2 ** 20, afterClose5sMiB: m.afterClose5sBytes / 2 ** 20, afterCloseMiB: m.afterCloseBytes / 2 ** 20 }])),
      }),
      row(`idlescale-open-${size}`, `time to open the sessions (${at})`, 's', 'lower', values((m) => m.openSeconds)),
      row(`idlescale-push-${size}`, `push p99 to one session (${at})`, 'ms', 'lower', values((m) => percentile(m.pushMs, 99)), {
        detail: Object.fromEntries([...results].map(([s, m]) => [s.name, { pushMs: m.pushMs }])),
      }),
    );
  }
  return rows;
}
