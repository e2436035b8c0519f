/**
 * The two servers under test, behind one shape: the real built Mailstead
 * (test/helpers/server.ts) and a throwaway Debian Dovecot 2.3
 * (test/helpers/dovecot.ts), each with the same two accounts: `user` holds
 * the benchmark mailbox, `user2` receives the delivery and IDLE benchmarks.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { DOVECOT_BIN, startDovecot } from '../../test/helpers/dovecot.js';
import { startPostgres } from '../../test/helpers/postgres.js';
import { CLI, makeDataDir, startServer } from '../../test/helpers/server.js';
import type { LmtpEndpoint } from './lmtp-client.js';
import { descendants, findProcess } from './memory.js';

export type ServerName = 'mailstead' | 'dovecot';

export interface BenchServer {
  name: ServerName;
  imaps: number;
  pop3s: number;
  certPem: string;
  user: string;
  password: string;
  user2: string;
  password2: string;
  /** Accounts for the parallel login rows: Mailstead locks a POP3 maildrop (RFC 1939 §8), so 8 logins at once are 8 users. */
  crowd: Account[];
  lmtp: LmtpEndpoint;
  /** Plain-text IMAP port (imaptest speaks LOGIN without TLS; Mailstead allows it from loopback only when IMAPTEST is set). */
  imap: number;
  /** Empty accounts of their own for the imaptest stress and the mixed-load rows, which append and expunge. */
  stressUser: Account;
  mixedUser: Account;
  /** Stops and starts the server on the same data (new ports for Mailstead): for the cold header-sync row. */
  restart(): Promise<void>;
  /** Dovecot's temp directory (config, passwd-file); unset for Mailstead. */
  dataDir?: string;
  /** Mailstead: the CLI options naming its store (`--data-dir DIR` or `--store URL`), for `user add`, `import --direct`. */
  storeArgs?: string[];
  /** Mailstead started with `loopProbe`: the Unix socket of its event-loop delay probe (bench/lib/loop-probe.mjs). */
  loopProbe?: string;
  /** The server's processes now (Dovecot forks one per login). */
  pids(): number[];
  version: string;
  stop(): Promise<void>;
}

export interface Account {
  user: string;
  password: string;
}

/** Eight empty accounts sharing one password. */
const CROWD: Account[] = Array.from({ length: 8 }, (_, i) => ({ user: `crowd${i + 1}@example.com`, password: 'crowd-secret-1' }));

const STRESS: Account = { user: 'stress@example.com', password: 'stress-secret-1' };
const MIXED: Account = { user: 'mixed@example.com', password: 'mixed-secret-1' };

const USER = 'alice@example.com';
const PASSWORD = 'alice-secret-1';
const USER2 = 'bob@example.com';
const PASSWORD2 = 'bob-secret-2';

export interface MailsteadOptions {
  /** A PostgreSQL URL: the node serves that database (several nodes may share it; the first creates the accounts). */
  store?: string;
  /** Accounts already exist (a second node on the same database). */
  noAccounts?: boolean;
  /** Start with the event-loop delay probe (bench/lib/loop-probe.mjs) loaded into the server. */
  loopProbe?: boolean;
  /** Config overrides (idlescale lifts the connection limits). */
  config?: Record<string, unknown>;
}

export async function startMailsteadServer(opts: MailsteadOptions = {}): Promise<BenchServer> {
  const dataDir = makeDataDir();
  const probe = opts.loopProbe ? join(dataDir, 'loop-probe.sock') : undefined;
  const env = probe
    ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${join(import.meta.dirname, 'loop-probe.mjs')}`.trim(), MAILSTEAD_BENCH_LOOP_PROBE: probe }
    : undefined;
  // The shipped defaults (log level info, scrypt passwords), except the failed-login delay no run here triggers.
  // imaptest logs in on the plain port (docs/imaptest.md): allowed from loopback only when it will run.
  const config = {
    ...(process.env.IMAPTEST ? { tls: { allowCleartextAuthFromLoopback: true } } : {}),
    ...(opts.store ? { store: opts.store } : {}),
    ...opts.config,
  };
  let server = await startServer({ dataDir, env, config });
  const storeArgs = opts.store ? ['--store', opts.store] : ['--data-dir', server.dataDir];
  if (!opts.noAccounts) {
    await Promise.all(
      [{ user: USER, password: PASSWORD }, { user: USER2, password: PASSWORD2 }, ...CROWD, STRESS, MIXED].map((a) => addUserAsync(storeArgs, a)),
    );
  }
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
  const bench: BenchServer = {
    name: 'mailstead',
    imaps: server.ports.imaps,
    pop3s: server.ports.pop3s,
    imap: server.ports.imap,
    stressUser: STRESS,
    mixedUser: MIXED,
    certPem: server.certPem,
    user: USER,
    password: PASSWORD,
    user2: USER2,
    password2: PASSWORD2,
    crowd: CROWD,
    lmtp: { port: server.ports.lmtp },
    storeArgs,
    loopProbe: probe,
    pids: () => (server.process.pid ? [server.process.pid] : []),
    version: `Mailstead ${pkg.version} (Node.js ${process.versions.node})`,
    async restart() {
      await server.stop();
      server = await startServer({ dataDir: server.dataDir, env, config });
      Object.assign(bench, { imaps: server.ports.imaps, pop3s: server.ports.pop3s, imap: server.ports.imap, lmtp: { port: server.ports.lmtp } });
    },
    async stop() {
      await server.stop();
      server.cleanup();
    },
  };
  return bench;
}

/** Dovecot, or the reason it cannot run here. */
export async function startDovecotServer(): Promise<BenchServer | string> {
  if (!existsSync(DOVECOT_BIN)) return `Dovecot is not installed (${DOVECOT_BIN} missing; Debian: dovecot-imapd dovecot-pop3d dovecot-lmtpd)`;
  if (process.getuid?.() !== 0) return 'Dovecot needs root to start its throwaway instance; run the benchmark as root to compare';
  let dv: Awaited<ReturnType<typeof startDovecot>>;
  try {
    dv = await startDovecot();
  } catch (err) {
    return `Dovecot did not start: ${(err as Error).message.split('\n')[0]}`;
  }
  // The harness's passwd-file has two users; the crowd gets lines of the same shape (Dovecot re-reads the file).
  const passwd = join(dv.dataDir, 'passwd');
  const crowdLines = [...CROWD, STRESS, MIXED].map((a) => `${a.user}:{PLAIN}${a.password}:65534:65534::${join(dv.dataDir, 'mail', a.user)}::\n`);
  writeFileSync(passwd, readFileSync(passwd, 'utf8') + crowdLines.join(''));
  const version = spawnSync(DOVECOT_BIN, ['--version'], { encoding: 'utf8' }).stdout.trim();
  // After a restart the master is a daemon of our own start, not the helper's child: stop() must end it too.
  let restartedMaster: number | null = null;
  const masterPid = () => Number(readFileSync(join(dv.dataDir, 'run', 'master.pid'), 'utf8').trim());
  return {
    name: 'dovecot',
    imaps: dv.imapsPort,
    pop3s: dv.pop3sPort,
    imap: dv.imapPort,
    stressUser: STRESS,
    mixedUser: MIXED,
    certPem: dv.certPem,
    user: dv.user,
    password: dv.password,
    user2: dv.user2,
    password2: dv.password2,
    crowd: CROWD,
    // The harness configures LMTP on a Unix socket in its base_dir (`service lmtp { unix_listener lmtp }`).
    lmtp: { path: join(dv.dataDir, 'run', 'lmtp') },
    dataDir: dv.dataDir,
    pids() {
      const master = findProcess((cmdline) => cmdline.includes(dv.configFile) && cmdline.startsWith(DOVECOT_BIN));
      return master ? [master, ...descendants(master)] : [];
    },
    version: `Dovecot ${version}`,
    async restart() {
      const old = masterPid();
      process.kill(old, 'SIGTERM');
      await waitUntil(() => !alive(old), 'Dovecot to stop');
      // Without -F the master daemonises once it listens; its children are new processes with empty memory.
      const r = spawnSync(DOVECOT_BIN, ['-c', dv.configFile], { encoding: 'utf8', timeout: 60_000 });
      if (r.status !== 0) throw new Error(`Dovecot did not restart: ${r.stderr}`);
      await waitUntil(() => existsSync(join(dv.dataDir, 'run', 'master.pid')) && alive(masterPid()), 'Dovecot to start');
      restartedMaster = masterPid();
      await waitForPort(dv.imapsPort);
    },
    async stop() {
      if (restartedMaster !== null && alive(restartedMaster)) {
        const pid = restartedMaster;
        process.kill(pid, 'SIGTERM');
        await waitUntil(() => !alive(pid), 'Dovecot to stop');
      }
      await dv.stop();
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(check: () => boolean, what: string): Promise<void> {
  // Generous: this only catches a server that never gets there.
  const deadline = Date.now() + 60_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves once the port accepts a TCP connection. */
async function waitForPort(port: number): Promise<void> {
  const open = () =>
    new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
  const deadline = Date.now() + 60_000;
  while (!(await open())) {
    if (Date.now() > deadline) throw new Error(`port ${port} did not open`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `mailstead user add` without blocking the event loop, so the accounts are made in parallel; `storeArgs`: `--data-dir DIR` or `--store URL`. */
export function addUserAsync(storeArgs: string[], account: Account): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'user', 'add', account.user, '--password-stdin', ...storeArgs], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (t: string) => (err += t));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`user add ${account.user} failed (${code}): ${err}`))));
    child.stdin.end(`${account.password}\n`);
  });
}

/**
 * Rewrites Dovecot's passwd-file so `accounts` have an ARGON2ID hash (doveadm's
 * default cost, m=64 MiB t=3) instead of {PLAIN}: a memory-hard hash like
 * Mailstead's scrypt, for a like-for-like login cost. Dovecot re-reads the
 * file when its mtime changes, checking at most once a second. Resolves
 * once the change is in effect with a function that puts the original file
 * back, or with null when doveadm cannot make a hash.
 */
export async function useArgon2Passwords(dataDir: string, accounts: Account[]): Promise<(() => Promise<void>) | null> {
  const hashes = new Map<string, string>();
  for (const password of new Set(accounts.map((a) => a.password))) {
    const r = spawnSync('doveadm', ['pw', '-s', 'ARGON2ID', '-p', password], { encoding: 'utf8' });
    const hash = r.stdout?.trim();
    if (r.status !== 0 || !hash?.startsWith('{ARGON2ID}')) return null;
    hashes.set(password, hash);
  }
  const byUser = new Map(accounts.map((a) => [a.user, hashes.get(a.password) as string]));
  const file = join(dataDir, 'passwd');
  const original = readFileSync(file, 'utf8');
  const lines = original.split('\n').map((l) => {
    const hash = byUser.get(l.slice(0, l.indexOf(':')));
    return hash ? l.replace(/^([^:]*):[^:]*:/, `$1:${hash}:`) : l;
  });
  writeFileSync(file, lines.join('\n'));
  await settle();
  return async () => {
    writeFileSync(file, original);
    await settle();
  };
}

/** Dovecot's auth process stats the passwd-file at most once per second (passwd_file_sync): let a change be seen. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1100));
}

export interface MailsteadCluster {
  /** The database every node serves. */
  url: string;
  nodes: BenchServer[];
  stop(): Promise<void>;
}

/**
 * PostgreSQL for the benchmark, as the tests get it (test/helpers/postgres.ts:
 * the server at MAILSTEAD_TEST_PG, or a throwaway cluster from the binaries
 * under /usr/lib/postgresql; a fresh database either way), and `count`
 * Mailstead nodes serving it; node 0 creates the accounts. Resolves with the
 * reason instead when PostgreSQL cannot be had.
 */
export async function startMailsteadCluster(count: number, opts: { loopProbe?: boolean } = {}): Promise<MailsteadCluster | string> {
  let pg: Awaited<ReturnType<typeof startPostgres>>;
  try {
    pg = await startPostgres();
  } catch (err) {
    return `PostgreSQL did not start: ${(err as Error).message.split('\n')[0]}`;
  }
  const nodes: BenchServer[] = [];
  try {
    for (let i = 0; i < count; i++) nodes.push(await startMailsteadServer({ store: pg.url, noAccounts: i > 0, loopProbe: opts.loopProbe }));
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    await pg.stop();
    throw err;
  }
  return {
    url: pg.url,
    nodes,
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
      await pg.stop();
    },
  };
}
