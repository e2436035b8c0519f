/**
 * Comparable snapshots of an account, one taken over IMAP and one from a
 * local Maildir tree written by a sync tool, so a test can assert that both
 * sides of a two-way sync hold the same messages with the same flags.
 * A message is identified by its Message-ID; flags are the five system flags
 * both IMAP (RFC 9051 §2.3.2) and Maildir (the `:2,` info letters) carry.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { q, WireClient } from './imap-wire.js';

/** mailbox name → sorted lines "<message-id> FLAGS". */
export type Snapshot = Record<string, string[]>;

const MAILDIR_FLAGS: Record<string, string> = { D: '\\Draft', F: '\\Flagged', R: '\\Answered', S: '\\Seen', T: '\\Deleted' };
const COMPARED = new Set(Object.values(MAILDIR_FLAGS));

export interface ImapAccount {
  port: number;
  certPem: string;
  user: string;
  password: string;
}

export async function login(acct: ImapAccount): Promise<WireClient> {
  const c = await WireClient.open(acct.port, acct.certPem);
  const greeting = await c.readLine();
  if (!greeting.startsWith('* OK')) throw new Error(`bad greeting: ${greeting}`);
  const r = await c.command(`LOGIN ${q(acct.user)} ${q(acct.password)}`);
  if (!/^t\d+ OK/.test(r.at(-1)!)) throw new Error(`login failed: ${r.join('\n')}`);
  return c;
}

/** Runs one command and throws unless it ends in OK. */
export async function ok(c: WireClient, command: string): Promise<string[]> {
  const r = await c.command(command);
  if (!/^t\d+ OK/.test(r.at(-1)!)) throw new Error(`${command} failed:\n${r.join('\n')}`);
  return r;
}

function messageIdOf(raw: string): string {
  const m = /^Message-ID:\s*(<[^>\r\n]*>)/im.exec(raw);
  return m ? m[1]! : '(no-message-id)';
}

function entry(id: string, flags: string[]): string {
  return `${id} ${flags.filter((f) => COMPARED.has(f)).sort().join(' ')}`.trimEnd();
}

/** Reads every selectable mailbox of an account over IMAP (EXAMINE, so nothing changes). */
export async function imapSnapshot(acct: ImapAccount): Promise<Snapshot> {
  const c = await login(acct);
  try {
    const snap: Snapshot = {};
    const listed = await ok(c, 'LIST "" "*"');
    for (const line of listed) {
      const m = /^\* LIST \(([^)]*)\) (?:"[^"]*"|NIL) (?:"((?:[^"\\]|\\.)*)"|(\S+))$/.exec(line);
      if (!m) continue;
      if (/\\(Noselect|NonExistent)/i.test(m[1]!)) continue;
      const name = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!;
      await ok(c, `EXAMINE ${q(name)}`);
      const fetched = await ok(c, 'UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])');
      const entries: string[] = [];
      for (const f of fetched) {
        if (!/^\* \d+ FETCH/.test(f)) continue;
        const flags = /FLAGS \(([^)]*)\)/.exec(f)?.[1]?.split(' ').filter(Boolean) ?? [];
        entries.push(entry(messageIdOf(f), flags));
      }
      snap[name.toUpperCase() === 'INBOX' ? 'INBOX' : name] = entries.sort();
    }
    return snap;
  } finally {
    c.close();
  }
}

function isMaildir(dir: string): boolean {
  try {
    return ['cur', 'new', 'tmp'].every((d) => statSync(join(dir, d)).isDirectory());
  } catch {
    return false;
  }
}

/**
 * Reads a Maildir tree. `separator` is how the tool writes hierarchy on disk:
 * '/' for nested directories (mbsync `SubFolders Verbatim`), '.' for offlineimap's default.
 */
export function maildirSnapshot(root: string, separator: '/' | '.'): Snapshot {
  const snap: Snapshot = {};
  const walk = (dir: string) => {
    if (isMaildir(dir)) {
      const rel = relative(root, dir).split(sep).join('/');
      const name = separator === '.' ? rel.replaceAll('.', '/') : rel;
      const entries: string[] = [];
      for (const sub of ['cur', 'new']) {
        for (const file of readdirSync(join(dir, sub))) {
          const info = /:2,([A-Za-z]*)$/.exec(file)?.[1] ?? '';
          const flags = [...info].map((l) => MAILDIR_FLAGS[l]).filter((f): f is string => !!f);
          entries.push(entry(messageIdOf(readFileSync(join(dir, sub, file), 'latin1')), flags));
        }
      }
      snap[name.toUpperCase() === 'INBOX' ? 'INBOX' : name] = entries.sort();
    }
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      if (d.isDirectory() && !['cur', 'new', 'tmp'].includes(d.name) && !d.name.startsWith('.')) walk(join(dir, d.name));
    }
  };
  walk(root);
  return snap;
}

/** Lines of tool output that report a problem (the tests require none). */
export function problemLines(output: string, allowed: RegExp[] = []): string[] {
  return output
    .split('\n')
    .filter((l) => /\b(error|warning|fail(ed|ure)?|fatal|unexpected|bad)\b/i.test(l))
    .filter((l) => !allowed.some((a) => a.test(l)));
}
