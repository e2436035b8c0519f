/**
 * Paths built from server or file data stay inside their root (issue 9,
 * "Paths that escape"):
 * - `mailstead archive` from a server whose folders are made of separators
 *   and dot levels ("/", "//", "..", "a/../../b", "." with "." as delimiter,
 *   a control character, a 300-byte name) writes nothing outside the archive
 *   directory and archives every folder under a safe, decodable local name;
 * - `mailstead import` of a crafted archive (a manifest naming "../x", an
 *   absolute path, a symlink out of the archive, a NUL) and of a Maildir with
 *   a symlink out imports nothing from outside, reports each refused entry
 *   and exits 1; `archive verify` reports the same entries as unsafe.
 * The IMAP server of the first part is scripted here: a real Mailstead (or
 * Dovecot) cannot create such folders, and the client under test is ours.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { addUser, CLI, cli, type CliResult, makeMessage, startServer, type TestServer } from '../helpers/server.js';

/** The CLI without blocking this process's event loop (the scripted server runs here). */
function cliAsync(args: string[], input: string): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    child.once('error', fail);
    child.once('close', (status) => done({ status, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** Every file and directory under `dir` (relative), with file sizes: what "unchanged" compares. */
function snapshot(dir: string, skip: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (p === skip) continue;
      if (e.isDirectory()) {
        out.push(`${relative(dir, p)}/`);
        walk(p);
      } else out.push(`${relative(dir, p)} ${statSync(p).size}`);
    }
  };
  walk(dir);
  return out.sort();
}

interface Listed {
  /** The LIST response's delimiter and name as sent on the wire (quoted string or literal). */
  delimiter: string;
  wire: string;
}

/**
 * A minimal IMAP4rev1 server for one client at a time: LOGIN, LIST, EXAMINE
 * and UID FETCH of one message per folder, the body naming the folder it was
 * examined under. Literals from the client ({n} and {n+}) are read whole.
 */
class ScriptedImap {
  readonly examined: string[] = [];
  private server: Server | null = null;
  port = 0;
  constructor(private readonly listed: Listed[]) {}

  async start(): Promise<void> {
    this.server = createServer((socket) => this.session(socket));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }

  static message(folder: string): Buffer {
    return Buffer.from(makeMessage({ subject: `in folder ${JSON.stringify(folder)}`, date: 'Mon, 01 Jan 2024 00:00:00 +0000' }).replace(/Message-ID: <[^>]*>/, 'Message-ID: <fixed@example.org>'));
  }

  private session(socket: Socket): void {
    let buffer = Buffer.alloc(0);
    let pending: Buffer[] = [];
    let need = 0;
    let selected = '';
    socket.on('error', () => undefined);
    socket.write('* OK [CAPABILITY IMAP4rev1 UIDPLUS] scripted server ready\r\n');
    const command = (parts: Buffer[]) => {
      const line = Buffer.concat(parts);
      const text = line.toString('latin1');
      const [tag, verb = '', ...rest] = text.split(' ');
      const upper = `${verb} ${rest[0] ?? ''}`.toUpperCase();
      const ok = (what: string) => socket.write(`${tag} OK ${what} completed\r\n`);
      switch (verb.toUpperCase()) {
        case 'CAPABILITY':
          socket.write('* CAPABILITY IMAP4rev1 UIDPLUS\r\n');
          return ok('CAPABILITY');
        case 'LOGIN':
          return ok('LOGIN');
        case 'LIST':
          // LIST "" "" asks for the hierarchy delimiter only (RFC 9051 §6.3.9).
          if (/ ""$/.test(text)) socket.write('* LIST (\\Noselect) "/" ""\r\n');
          else for (const l of this.listed) socket.write(Buffer.concat([Buffer.from(`* LIST () "${l.delimiter}" `), Buffer.from(l.wire, 'latin1'), Buffer.from('\r\n')]));
          return ok('LIST');
        case 'LSUB':
          return ok('LSUB');
        case 'EXAMINE':
        case 'SELECT': {
          selected = mailboxArgument(line.subarray(tag!.length + verb.length + 2));
          this.examined.push(selected);
          socket.write('* FLAGS (\\Seen)\r\n* 1 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n* OK [UIDNEXT 2] n\r\n');
          return socket.write(`${tag} OK [READ-ONLY] EXAMINE completed\r\n`);
        }
        case 'UID':
          if (upper.startsWith('UID FETCH')) {
            if (/BODY\.PEEK\[\]/i.test(text)) {
              const body = ScriptedImap.message(selected);
              socket.write(`* 1 FETCH (UID 1 FLAGS (\\Seen) INTERNALDATE "01-Jan-2024 00:00:00 +0000" BODY[] {${body.length}}\r\n`);
              socket.write(body);
              socket.write(')\r\n');
            } else socket.write('* 1 FETCH (UID 1)\r\n');
            return ok('UID FETCH');
          }
          if (upper.startsWith('UID SEARCH')) {
            socket.write('* SEARCH 1\r\n');
            return ok('UID SEARCH');
          }
          return socket.write(`${tag} BAD not scripted\r\n`);
        case 'NOOP':
        case 'CLOSE':
        case 'UNSELECT':
          return ok(verb);
        case 'LOGOUT':
          socket.write('* BYE bye\r\n');
          ok('LOGOUT');
          return socket.end();
        default:
          return socket.write(`${tag} BAD not scripted\r\n`);
      }
    };
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (need > 0) {
          if (buffer.length < need) return;
          pending.push(buffer.subarray(0, need));
          buffer = buffer.subarray(need);
          need = 0;
          continue;
        }
        const lf = buffer.indexOf('\r\n');
        if (lf === -1) return;
        const line = buffer.subarray(0, lf);
        buffer = buffer.subarray(lf + 2);
        const literal = /\{(\d+)(\+?)\}$/.exec(line.toString('latin1'));
        if (literal) {
          pending.push(line.subarray(0, line.length - literal[0].length), Buffer.from(`{${literal[1]}}`));
          need = Number(literal[1]);
          if (!literal[2]) socket.write('+ go on\r\n');
          continue;
        }
        pending.push(line);
        command(pending);
        pending = [];
      }
    });
  }
}

/** The mailbox argument of EXAMINE: a quoted string, a literal ("{n}" then n bytes) or an atom. */
function mailboxArgument(arg: Buffer): string {
  const text = arg.toString('utf8');
  const literal = /^\{(\d+)\}/.exec(text);
  if (literal) return arg.subarray(literal[0].length, literal[0].length + Number(literal[1])).toString('utf8');
  if (text.startsWith('"')) {
    let out = '';
    for (let i = 1; i < text.length && text[i] !== '"'; i++) out += text[i] === '\\' ? text[++i] : text[i];
    return out;
  }
  return text.split(' ')[0]!;
}

interface Line {
  folder: string | null;
  file: string;
  sha256: string;
}

describe('paths built from server data stay inside the archive', () => {
  const LONG = 'x'.repeat(300);
  const listed: Listed[] = [
    { delimiter: '/', wire: 'INBOX' },
    { delimiter: '/', wire: '"/"' },
    { delimiter: '/', wire: '"//"' },
    { delimiter: '/', wire: '"a//b"' },
    { delimiter: '/', wire: '".."' },
    { delimiter: '/', wire: '"a/../../b"' },
    { delimiter: '.', wire: '"."' },
    { delimiter: '.', wire: '"c..d"' },
    { delimiter: '/', wire: `{${'tab\there'.length}}\r\ntab\there` },
    { delimiter: '/', wire: `"${LONG}"` },
  ];
  const imap = new ScriptedImap(listed);
  let base = '';
  before(async () => {
    await imap.start();
    base = mkdtempSync(join(tmpdir(), 'mailstead-paths-'));
  });
  after(async () => {
    await imap.stop();
    rmSync(base, { recursive: true, force: true });
  });

  test('archive --all-folders: nothing is written outside DIR, every folder is archived under a safe local name', async () => {
    // DIR is two levels below the temp dir, so even "../.." would land in something we watch.
    mkdirSync(join(base, 'watch', 'inner'), { recursive: true });
    writeFileSync(join(base, 'watch', 'sentinel.txt'), 'untouched\n');
    const dir = join(base, 'watch', 'inner', 'archive');
    const before = snapshot(base, dir);
    const url = `imap://u@127.0.0.1:${imap.port}`;
    const r = await cliAsync(['archive', url, '--to', dir, '--all-folders', '--allow-plaintext', '--no-progress', '--password-stdin'], 'pw\n');
    assert.deepEqual(snapshot(base, dir), before, `nothing outside ${dir} changed\n${r.stdout}${r.stderr}`);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^archived ${listed.length} messages`, 'm'));

    const lines = readFileSync(join(dir, 'manifest.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);
    assert.equal(lines.length, listed.length);
    // Each folder the server listed (as the client examined it) has its own line and its own bytes.
    assert.deepEqual(lines.map((l) => l.folder).sort(), [...imap.examined].sort());
    const files = new Set<string>();
    for (const line of lines) {
      assert.ok(!isAbsolute(line.file) && !line.file.split('/').includes('..'), `${line.file} is a plain relative path`);
      const full = resolve(dir, line.file);
      assert.ok(full.startsWith(`${dir}/`), `${line.file} resolves inside the archive`);
      const bytes = readFileSync(full);
      assert.equal(createHash('sha256').update(bytes).digest('hex'), line.sha256);
      assert.deepEqual(bytes, ScriptedImap.message(line.folder === 'INBOX' ? 'INBOX' : line.folder!));
      // Only INBOX lives at the top; every other folder, however it is spelled, has a folder directory of its own.
      if (line.folder !== 'INBOX') assert.match(line.file, /^\.[^/]+\/cur\/[^/]+$/, `${JSON.stringify(line.folder)} -> ${line.file}`);
      for (const part of line.file.split('/')) assert.ok(Buffer.byteLength(part) <= 255, 'each name fits a file system');
      files.add(line.file);
    }
    // "/" (delimiter "/") and "." (delimiter ".") are the same hierarchy, two empty levels, so they share
    // a directory; their files differ by the folder tag in the name.
    assert.equal(files.size, listed.length, 'every message has a file of its own');

    const verify = cli(['archive', 'verify', dir]);
    assert.equal(verify.status, 0, verify.stdout);
    assert.match(verify.stdout, new RegExp(`verified ${listed.length} of ${listed.length} listed messages`));

    // A rerun finds everything by the manifest and reconciles each folder in its own directory.
    const again = await cliAsync(['archive', url, '--to', dir, '--all-folders', '--allow-plaintext', '--no-progress', '--password-stdin'], 'pw\n');
    assert.equal(again.status, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /^archived 0 messages/m);
    assert.match(again.stdout, new RegExp(`^already archived ${listed.length}; on the server ${listed.length}$`, 'm'));
    assert.deepEqual(snapshot(base, dir), before);
  });
});

describe('a folder directory that leads out of the archive', () => {
  const imap = new ScriptedImap([
    { delimiter: '/', wire: 'INBOX' },
    { delimiter: '/', wire: 'Sent' },
  ]);
  let base = '';
  before(async () => {
    await imap.start();
    base = mkdtempSync(join(tmpdir(), 'mailstead-paths-link-'));
  });
  after(async () => {
    await imap.stop();
    rmSync(base, { recursive: true, force: true });
  });

  test('is refused and counted (exit 1); the other folders are archived', async () => {
    const dir = join(base, 'archive');
    const outside = join(base, 'outside');
    mkdirSync(outside);
    mkdirSync(dir);
    symlinkSync(outside, join(dir, '.Sent'));
    const r = await cliAsync(['archive', `imap://u@127.0.0.1:${imap.port}`, '--to', dir, '--all-folders', '--allow-plaintext', '--no-progress', '--password-stdin'], 'pw\n');
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.deepEqual(readdirSync(outside), [], 'nothing written through the link');
    assert.match(r.stdout, /^archived 1 messages/m);
    assert.match(r.stdout, /^refused 1 unsafe paths$/m);
    assert.match(r.stdout, /^refused folder Sent: .*symbolic link/m);
  });
});

describe('paths built from file data stay inside the import source', () => {
  let server: TestServer;
  let base = '';
  const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
  const imapSubjects = async (user: string): Promise<string[]> => {
    const c = new ImapFlow({ host: '127.0.0.1', port: server.ports.imaps, secure: true, auth: { user, pass: 'pw' }, tls: { ca: [server.certPem], servername: 'localhost' }, logger: false });
    await c.connect();
    const subjects: string[] = [];
    for (const box of await c.list()) {
      const lock = await c.getMailboxLock(box.path, { readOnly: true });
      try {
        if (c.mailbox && c.mailbox.exists > 0) for await (const m of c.fetch('1:*', { envelope: true })) subjects.push(`${box.path}: ${m.envelope?.subject ?? ''}`);
      } finally {
        lock.release();
      }
    }
    await c.logout();
    return subjects.sort();
  };
  const secret = (name: string) => makeMessage({ subject: `SECRET ${name}` });

  /** An archive whose manifest names one good file and several that lead outside it. */
  const craftArchive = (): { dir: string; unsafe: number } => {
    const outer = mkdtempSync(join(base, 'crafted-'));
    const dir = join(outer, 'archive');
    mkdirSync(join(dir, 'cur'), { recursive: true });
    const good = makeMessage({ subject: 'good one' });
    writeFileSync(join(dir, 'cur', 'good.eml'), good);
    const outside = secret('outside');
    writeFileSync(join(outer, 'outside.eml'), outside);
    const absolute = secret('absolute');
    writeFileSync(join(outer, 'absolute.eml'), absolute);
    const linked = secret('linked');
    writeFileSync(join(outer, 'linked.eml'), linked);
    symlinkSync(join(outer, 'linked.eml'), join(dir, 'cur', 'link.eml'));
    const dotted = secret('dotted');
    mkdirSync(join(dir, '.Evil'));
    symlinkSync(outer, join(dir, '.Evil', 'cur'));
    const line = (file: string, content: string, folder = 'INBOX') =>
      JSON.stringify({
        v: 1,
        source: 'imap://x@example.com',
        folder,
        delimiter: '/',
        uidValidity: 1,
        uid: 1,
        sha256: sha(content),
        size: Buffer.byteLength(content),
        internalDate: '2024-01-01T00:00:00.000Z',
        date: null,
        archivedAt: '2024-01-01T00:00:00.000Z',
        flags: [],
        file,
      });
    writeFileSync(join(outer, 'dotted.eml'), dotted);
    const lines = [
      line('cur/good.eml', good),
      line('../outside.eml', outside),
      line(join(outer, 'absolute.eml'), absolute),
      line('cur/link.eml', linked, 'Linked'),
      line('.Evil/cur/dotted.eml', dotted, 'Evil'),
      line('cur/../../outside.eml', outside),
      line('cur/nul\u0000.eml', outside),
    ];
    writeFileSync(join(dir, 'manifest.jsonl'), `${lines.join('\n')}\n`);
    return { dir, unsafe: lines.length - 1 };
  };

  before(async () => {
    server = await startServer();
    base = mkdtempSync(join(tmpdir(), 'mailstead-import-paths-'));
    for (const u of ['over-imap@example.com', 'direct@example.com', 'maildir@example.com']) addUser(server.dataDir, u, 'pw');
  });
  after(async () => {
    await server.stop();
    server.cleanup();
    rmSync(base, { recursive: true, force: true });
  });

  test('import of a crafted archive over IMAP and --direct: only the good file is imported; each unsafe entry is refused, listed and counted; exit 1', async () => {
    const { dir, unsafe } = craftArchive();
    const overImap = cli(
      ['import', dir, '--to', `imaps://over-imap@example.com@127.0.0.1:${server.ports.imaps}`, '--ca', server.certFile, '--no-progress', '--password-stdin'],
      'pw\n',
    );
    const direct = cli(['import', dir, '--direct', '--data-dir', server.dataDir, '--to', 'direct@example.com', '--no-progress']);
    for (const [user, r] of [['over-imap@example.com', overImap], ['direct@example.com', direct]] as const) {
      assert.deepEqual(await imapSubjects(user), ['INBOX: good one'], `${user}: nothing from outside the archive\n${r.stdout}${r.stderr}`);
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /^imported 1 messages/m);
      assert.match(r.stdout, new RegExp(`^refused ${unsafe} unsafe paths$`, 'm'));
      for (const label of ['../outside.eml', 'absolute.eml', 'cur/link.eml', '.Evil/cur/dotted.eml', 'cur/../../outside.eml', 'cur/nul\\u0000.eml']) {
        assert.match(r.stdout, new RegExp(`^refused .*${label.replace(/[.\\/]/g, '\\$&')}.*: `, 'm'), `${label} is named`);
      }
      assert.doesNotMatch(r.stdout + r.stderr, /SECRET/);
    }
  });

  test('archive verify reports the unsafe entries without reading them', () => {
    const { dir, unsafe } = craftArchive();
    const r = cli(['archive', 'verify', dir]);
    assert.equal(r.status, 1, r.stdout);
    // The manifest's unsafe lines, and .Evil/cur, a folder directory that is a symbolic link out.
    assert.match(r.stdout, new RegExp(`^verified 1 of ${unsafe + 1} listed messages; .*, ${unsafe + 1} unsafe$`, 'm'));
    assert.equal((r.stdout.match(/^unsafe /gm) ?? []).length, unsafe + 1);
    assert.match(r.stdout, /^unsafe \.Evil\/cur: /m);
    assert.doesNotMatch(r.stdout, /^(altered|unlisted) /m, 'nothing outside was read or listed');
  });

  test('import of a Maildir: a message file that is a symlink out of the Maildir is refused', async () => {
    const outer = mkdtempSync(join(base, 'maildir-'));
    const md = join(outer, 'Maildir');
    for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(md, sub), { recursive: true });
    writeFileSync(join(md, 'cur', '1700000000.good:2,S'), makeMessage({ subject: 'maildir good' }));
    writeFileSync(join(outer, 'passwd'), secret('passwd'));
    symlinkSync(join(outer, 'passwd'), join(md, 'cur', '1700000001.evil:2,S'));
    const r = cli(['import', md, '--direct', '--data-dir', server.dataDir, '--to', 'maildir@example.com', '--no-progress']);
    assert.deepEqual(await imapSubjects('maildir@example.com'), ['INBOX: maildir good'], r.stdout + r.stderr);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^refused 1 unsafe paths$/m);
    assert.match(r.stdout, /^refused cur\/1700000001\.evil:2,S: /m);
  });
});
