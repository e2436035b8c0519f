/**
 * PostgreSQL for tests. With MAILSTEAD_TEST_PG (a URL to a server where the
 * user may create databases) that server is used; otherwise a throwaway
 * cluster is made with the server binaries under /usr/lib/postgresql
 * (initdb + pg_ctl, as the `postgres` user when running as root) in a
 * temporary directory, on a free 127.0.0.1 port. Either way each run gets a
 * fresh database, dropped (or the whole cluster stopped and removed) at the end.
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface TestPostgres {
  /** URL of this run's fresh database. */
  url: string;
  /** Creates another fresh schema in the run's database and returns its name. */
  newSchema(): Promise<string>;
  /** Creates another fresh database and returns its URL. */
  newDatabase(): Promise<string>;
  /** Stops the server (fast shutdown: sessions are cut) and starts it again; null when the server is not ours (MAILSTEAD_TEST_PG). */
  restart: (() => Promise<void>) | null;
  /** Stops the server until `up` (fast shutdown); null when the server is not ours. */
  down: (() => Promise<void>) | null;
  up: (() => Promise<void>) | null;
  stop(): Promise<void>;
}

function serverBinaries(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(a) - Number(b));
  return versions.length > 0 ? join(root, versions[versions.length - 1], 'bin') : null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** Runs a server binary, as `postgres` when we are root (initdb and postgres refuse root). */
async function asPostgres(bin: string, args: string[]): Promise<void> {
  const isRoot = process.getuid?.() === 0;
  const [file, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  await run(file, argv, { timeout: 120_000 });
}

let counter = 0;

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function startPostgres(): Promise<TestPostgres> {
  const given = process.env.MAILSTEAD_TEST_PG;
  let adminUrl: string;
  let stopCluster = async (): Promise<void> => {};
  let restart: (() => Promise<void>) | null = null;
  let down: (() => Promise<void>) | null = null;
  let up: (() => Promise<void>) | null = null;
  if (given) {
    adminUrl = given;
  } else {
    const bin = serverBinaries();
    if (!bin) throw new Error('No PostgreSQL server binaries under /usr/lib/postgresql and MAILSTEAD_TEST_PG is not set');
    const dir = mkdtempSync(join(tmpdir(), 'mailstead-pg-'));
    const isRoot = process.getuid?.() === 0;
    if (isRoot) chownSync(dir, Number((await run('id', ['-u', 'postgres'])).stdout.trim()), Number((await run('id', ['-g', 'postgres'])).stdout.trim()));
    const data = join(dir, 'data');
    const port = await freePort();
    await asPostgres(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
    await asPostgres(join(bin, 'pg_ctl'), [
      '-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60',
      '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=300`,
      'start',
    ]);
    adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
    down = async () => {
      await asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
    };
    up = async () => {
      await asPostgres(join(bin, 'pg_ctl'), [
        '-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60',
        '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=300`,
        'start',
      ]);
    };
    restart = async () => {
      await asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'server.log'), '-m', 'fast', '-w', '-t', '60', 'restart']);
    };
    stopCluster = async () => {
      try {
        await asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
  }
  const databases: string[] = [];
  const newDatabase = async (): Promise<string> => {
    const name = `mailstead_test_${process.pid}_${Date.now().toString(36)}_${++counter}`;
    await admin(adminUrl, `CREATE DATABASE ${name}`);
    databases.push(name);
    return withDatabase(adminUrl, name);
  };
  const url = await newDatabase();
  return {
    url,
    newDatabase,
    restart,
    down,
    up,
    async newSchema() {
      const name = `t${++counter}_${Date.now().toString(36)}`;
      await admin(url, `CREATE SCHEMA ${name}`);
      return name;
    },
    async stop() {
      if (given) {
        for (const name of databases) await admin(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      }
      await stopCluster();
    },
  };
}
