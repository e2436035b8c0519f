/**
 * Starts the real `mailstead serve` (the built dist/, as a user runs it) on
 * ephemeral loopback ports with a temporary data directory, and runs the
 * real CLI against it. Integration tests drive it with clients we did not write.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = join(ROOT, 'dist/cli/main.js');

export type Ports = Record<'imap' | 'imaps' | 'pop3' | 'pop3s' | 'lmtp', number> & Partial<Record<'http' | 'https', number>>;

export interface TestServer {
  dataDir: string;
  ports: Ports;
  /** PEM of the generated self-signed certificate (for clients that verify). */
  certPem: string;
  certFile: string;
  initialAccount: { address: string; password: string };
  process: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** SIGTERM and wait for exit; returns the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
  /** Removes the data directory (after stop/kill). */
  cleanup(): void;
}

export interface StartOptions {
  dataDir?: string;
  /** Extra config keys merged into the generated config file. */
  config?: Record<string, unknown>;
  /** Extra environment variables for the server process (e.g. MAILSTEAD_TEST_CRASH_AT). */
  env?: Record<string, string>;
}

export function makeDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'mailstead-test-'));
}

export async function startServer(opts: StartOptions = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? makeDataDir();
  const configFile = join(dataDir, 'test-config.json');
  const config = {
    dataDir,
    hostname: 'localhost',
    logLevel: 'info',
    authFailureDelayMs: 50,
    listeners: { imap: '127.0.0.1:0', imaps: '127.0.0.1:0', pop3: '127.0.0.1:0', pop3s: '127.0.0.1:0', lmtp: '127.0.0.1:0' },
    ...opts.config,
  };
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const child = spawn(process.execPath, [CLI, 'serve', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MAILSTEAD_LOG_LEVEL: 'info', ...opts.env },
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (t: string) => (out += t));
  child.stderr!.setEncoding('utf8').on('data', (t: string) => (err += t));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const expected = Object.entries(config.listeners).filter(([, v]) => v !== 'off').length;
  // Generous: on a loaded machine a start takes seconds; this only catches a server that never listens.
  const deadline = Date.now() + 120_000;
  while ((out.match(/^listening /gm) ?? []).length < expected) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}\nstdout:\n${out}\nstderr:\n${err}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not start in time\nstdout:\n${out}\nstderr:\n${err}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  const ports = {} as Ports;
  for (const m of out.matchAll(/^listening (\w+) 127\.0\.0\.1:(\d+)$/gm)) ports[m[1] as keyof Ports] = Number(m[2]);
  const created = /^created account (\S+) with password (\S+)$/m.exec(out);
  const certFile = join(dataDir, 'tls', 'cert.pem');
  return {
    dataDir,
    ports,
    certFile,
    certPem: readFileSync(certFile, 'utf8'),
    initialAccount: { address: created?.[1] ?? '', password: created?.[2] ?? '' },
    process: child,
    stdout: () => out,
    stderr: () => err,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
    cleanup() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `mailstead ARGS` synchronously with optional standard input. */
export function cli(args: string[], input?: string | Buffer): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { input, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Creates an account through the real CLI. */
export function addUser(dataDir: string, address: string, password: string, quota?: string): void {
  const args = ['user', 'add', address, '--password-stdin', '--data-dir', dataDir];
  if (quota) args.push('--quota', quota);
  const r = cli(args, `${password}\n`);
  if (r.status !== 0) throw new Error(`user add failed (${r.status}): ${r.stderr}`);
}

/** Delivers a message through the real `deliver` command; returns the exit status. */
export function deliver(dataDir: string, address: string, message: string | Buffer, mailbox?: string): CliResult {
  const args = ['deliver', address, '--data-dir', dataDir];
  if (mailbox) args.push('--mailbox', mailbox);
  return cli(args, message);
}

/** Runs a Python script (stdlib imaplib/poplib) with JSON-able environment; returns stdout, throws on failure. */
export function python(script: string, env: Record<string, string | number>): string {
  const r = spawnSync('python3', ['-c', script], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])) },
  });
  if (r.status !== 0) throw new Error(`python failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Runs curl; returns stdout as a Buffer (exact bytes) and the exit status. */
export function curl(args: string[]): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync('curl', ['--silent', '--show-error', '--max-time', '30', ...args], { timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}

/** A small RFC 5322 message with CRLF line ends. */
export function makeMessage(opts: { subject: string; from?: string; to?: string; body?: string; date?: string }): string {
  return [
    `From: ${opts.from ?? 'Sender <sender@example.org>'}`,
    `To: ${opts.to ?? 'alice@example.com'}`,
    `Subject: ${opts.subject}`,
    `Date: ${opts.date ?? 'Thu, 26 Nov 2026 10:00:00 +0000'}`,
    `Message-ID: <${Math.random().toString(36).slice(2)}@example.org>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    opts.body ?? `Body of ${opts.subject}`,
    '',
  ].join('\r\n');
}
