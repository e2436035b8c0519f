/**
 * The two servers under test, behind one shape: the real built Mailstead
 * (test/helpers/server.ts) and a throwaway Debian Dovecot 2.3
 * (test/helpers/dovecot.ts), each with the same two accounts: `user` holds
 * the benchmark mailbox, `user2` receives the delivery and IDLE benchmarks.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOVECOT_BIN, startDovecot } from '../../test/helpers/dovecot.js';
import { CLI, startServer } from '../../test/helpers/server.js';
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
  /** Dovecot's temp directory (config, passwd-file); unset for Mailstead. */
  dataDir?: string;
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

const USER = 'alice@example.com';
const PASSWORD = 'alice-secret-1';
const USER2 = 'bob@example.com';
const PASSWORD2 = 'bob-secret-2';

export async function startMailsteadServer(config?: Record<string, unknown>): Promise<BenchServer> {
  // The shipped defaults (log level info, scrypt passwords), except the failed-login delay no run here triggers
  // (and what `config` changes: idlescale lifts the connection limits).
  const server = await startServer(config ? { config } : {});
  await Promise.all([{ user: USER, password: PASSWORD }, { user: USER2, password: PASSWORD2 }, ...CROWD].map((a) => addUserAsync(server.dataDir, a)));
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
  return {
    name: 'mailstead',
    imaps: server.ports.imaps,
    pop3s: server.ports.pop3s,
    certPem: server.certPem,
    user: USER,
    password: PASSWORD,
    user2: USER2,
    password2: PASSWORD2,
    crowd: CROWD,
    lmtp: { port: server.ports.lmtp },
    pids: () => (server.process.pid ? [server.process.pid] : []),
    version: `Mailstead ${pkg.version} (Node.js ${process.versions.node})`,
    async stop() {
      await server.stop();
      server.cleanup();
    },
  };
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
  const crowdLines = CROWD.map((a) => `${a.user}:{PLAIN}${a.password}:65534:65534::${join(dv.dataDir, 'mail', a.user)}::\n`);
  writeFileSync(passwd, readFileSync(passwd, 'utf8') + crowdLines.join(''));
  const version = spawnSync(DOVECOT_BIN, ['--version'], { encoding: 'utf8' }).stdout.trim();
  return {
    name: 'dovecot',
    imaps: dv.imapsPort,
    pop3s: dv.pop3sPort,
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
    stop: () => dv.stop(),
  };
}

/** `mailstead user add` without blocking the event loop, so the accounts are made in parallel. */
function addUserAsync(dataDir: string, account: Account): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'user', 'add', account.user, '--password-stdin', '--data-dir', dataDir], { stdio: ['pipe', 'ignore', 'pipe'] });
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
