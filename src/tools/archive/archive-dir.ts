/**
 * An archive directory: a Maildir++ tree of write-once message files plus
 * the append-only manifest. Knows how a message is named, stored, recorded
 * and — after an interrupted run — reconciled (docs/archive.md).
 *
 * File names: `SECS.TAG_ID.mailstead,S=SIZE:2,FLAGS` where TAG is 10 hex
 * digits of SHA-256(source + folder) and ID is `uUIDVALIDITY-UID` (IMAP) or
 * `pBASE64URL(UIDL)` (POP3). The name alone says which message of which
 * source it is, so a file whose manifest line was lost can be recorded again
 * without asking the server.
 *
 * Every path below the root is built from server data (folder names, UIDLs)
 * and goes through safe-path.ts: a folder is one directory level named by
 * folderDirName, and a folder directory (or its tmp/, new/, cur/) that is a
 * symbolic link out of the archive is refused rather than written through.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { ToolError } from '../errors.js';
import { readInside, resolveInside, safeJoin } from '../safe-path.js';
import { folderDirName, LOCK_NAME } from './folder-names.js';
import { type ManifestEntry, ManifestWriter, readManifest } from './manifest.js';
import { flagsToMaildirLetters, maildirLettersToFlags, splitMaildirName } from './maildir-flags.js';
import { headerFacts } from './message-info.js';
import { ensureMaildir, fsyncDir, sha256, storeOnce } from './write-once.js';

const NAME_RE = /^(\d+)\.([0-9a-f]{10})_(u\d+-\d+|p[A-Za-z0-9_-]+)\.mailstead,S=(\d+)$/;

/** A message's identity within its source. */
export type MessageKey = { kind: 'pop3'; uidl: string } | { kind: 'imap'; uidValidity: number; uid: number };

export interface ArchivedMessage {
  source: string;
  folder: string | null;
  key: MessageKey;
  content: Buffer;
  flags: string[];
  /** IMAP INTERNALDATE; null for POP3 (derived from the header then). */
  internalDate: Date | null;
}

export function folderTag(source: string, folder: string | null): string {
  return createHash('sha256').update(`${source}\0${folder ?? ''}`).digest('hex').slice(0, 10);
}

export function keyId(key: MessageKey): string {
  return key.kind === 'pop3' ? `p${Buffer.from(key.uidl, 'latin1').toString('base64url')}` : `u${key.uidValidity}-${key.uid}`;
}

function idToKey(id: string): MessageKey {
  if (id.startsWith('p')) return { kind: 'pop3', uidl: Buffer.from(id.slice(1), 'base64url').toString('latin1') };
  const [uv, uid] = id.slice(1).split('-').map(Number);
  return { kind: 'imap', uidValidity: uv!, uid: uid! };
}

function entryKey(source: string, folder: string | null, key: MessageKey): string {
  return `${source}\0${folder ?? ''}\0${keyId(key)}`;
}

function manifestKey(e: ManifestEntry): string {
  const key: MessageKey = e.uidl !== undefined ? { kind: 'pop3', uidl: e.uidl } : { kind: 'imap', uidValidity: e.uidValidity!, uid: e.uid! };
  return entryKey(e.source, e.folder, key);
}

export interface ReconcileReport {
  removedTmp: number;
  recovered: number;
}

export class ArchiveDir {
  private readonly known = new Map<string, ManifestEntry>();
  /** Folder directories already checked (and created) in this run. */
  private readonly checkedDirs = new Set<string>();

  private constructor(
    readonly root: string,
    readonly entries: ManifestEntry[],
    private readonly writer: ManifestWriter,
    private readonly lockPath: string,
  ) {
    for (const e of entries) this.known.set(manifestKey(e), e);
  }

  /** Opens (creating) the archive, taking its lock: two runs writing one manifest would interleave. */
  static async open(root: string): Promise<ArchiveDir> {
    try {
      await ensureMaildir(root);
    } catch (err) {
      throw new ToolError(`cannot create ${root}: ${(err as Error).message}`, 'local');
    }
    const lockPath = join(root, LOCK_NAME);
    await takeLock(lockPath);
    try {
      const entries = await readManifest(root);
      return new ArchiveDir(root, entries, await ManifestWriter.open(root), lockPath);
    } catch (err) {
      await unlink(lockPath).catch(() => undefined);
      throw new ToolError((err as Error).message, 'local');
    }
  }

  lookup(source: string, folder: string | null, key: MessageKey): ManifestEntry | undefined {
    return this.known.get(entryKey(source, folder, key));
  }

  /**
   * Cleans up after an interrupted run, for one folder of one source: every
   * tmp/ file is a write that was never linked into cur/ (removed); a cur/
   * file of this source without a manifest line was durable but unrecorded
   * (its line is appended now, from the file itself).
   */
  async reconcile(source: string, folder: string | null, delimiter: string): Promise<ReconcileReport> {
    const dir = await this.folderDir(folder, delimiter);
    const report: ReconcileReport = { removedTmp: 0, recovered: 0 };
    const tag = folderTag(source, folder);
    const tmpNames = (await readdir(join(dir, 'tmp'))).filter((n) => n.includes(`.${tag}_`));
    for (const name of tmpNames) {
      await unlink(join(dir, 'tmp', name));
      report.removedTmp++;
    }
    if (tmpNames.length > 0) await fsyncDir(join(dir, 'tmp'));
    for (const sub of ['cur', 'new']) {
      for (const name of await readdir(join(dir, sub))) {
        const { base, letters } = splitMaildirName(name);
        const m = NAME_RE.exec(base);
        if (!m || m[2] !== tag) continue;
        const key = idToKey(m[3]!);
        if (this.known.has(entryKey(source, folder, key))) continue;
        const path = join(dir, sub, name);
        // A planted symbolic link named like one of our files must not be recorded as archived mail.
        const content = await readInside(this.root, relative(this.root, path));
        if (content.length !== Number(m[4])) {
          throw new ToolError(`${path} has ${content.length} bytes, its name says ${m[4]}; left alone, please inspect it`, 'local');
        }
        const info = await stat(path);
        await this.record(source, folder, delimiter, key, content, maildirLettersToFlags(letters), info.mtime, path, true);
        report.recovered++;
      }
    }
    return report;
  }

  /** Stores a message durably and records it; resolves only when both are on disk. */
  async archive(message: ArchivedMessage, delimiter: string): Promise<ManifestEntry> {
    const dir = await this.folderDir(message.folder, delimiter);
    const facts = headerFacts(message.content);
    const internalDate = message.internalDate ?? facts.receivedDate ?? facts.date ?? new Date();
    const tag = folderTag(message.source, message.folder);
    const name = `${Math.floor(internalDate.getTime() / 1000)}.${tag}_${keyId(message.key)}.mailstead,S=${message.content.length}:2,${flagsToMaildirLetters(message.flags)}`;
    // A name too long for the file system (a hostile server's UIDL) is refused here, before anything is written.
    safeJoin(dir, 'cur', name);
    await storeOnce(dir, name, message.content, internalDate);
    return this.record(message.source, message.folder, delimiter, message.key, message.content, message.flags, internalDate, join(dir, 'cur', name), false);
  }

  private async record(
    source: string,
    folder: string | null,
    delimiter: string,
    key: MessageKey,
    content: Buffer,
    flags: string[],
    internalDate: Date,
    path: string,
    recovered: boolean,
  ): Promise<ManifestEntry> {
    const facts = headerFacts(content);
    const entry: ManifestEntry = {
      v: 1,
      source,
      folder,
      ...(key.kind === 'pop3' ? { uidl: key.uidl } : { delimiter, uidValidity: key.uidValidity, uid: key.uid }),
      sha256: sha256(content),
      size: content.length,
      internalDate: internalDate.toISOString(),
      date: facts.date?.toISOString() ?? null,
      archivedAt: new Date().toISOString(),
      flags,
      file: relative(this.root, path),
      ...(recovered ? { recovered: true as const } : {}),
    };
    await this.writer.append(entry);
    this.entries.push(entry);
    this.known.set(entryKey(source, folder, key), entry);
    return entry;
  }

  /**
   * The Maildir of a folder, created when missing: one level below the root
   * (the root itself for INBOX and POP3). Each level is checked before it is
   * created or used, so a symbolic link out of the archive is refused, not followed.
   */
  private async folderDir(folder: string | null, delimiter: string): Promise<string> {
    const name = folderDirName(folder, delimiter);
    const dir = safeJoin(this.root, name);
    if (this.checkedDirs.has(dir)) return dir;
    for (const sub of ['', 'tmp', 'new', 'cur']) {
      const rel = sub ? join(name, sub) : name;
      try {
        await resolveInside(this.root, rel);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        const path = safeJoin(this.root, rel);
        await mkdir(path);
        await fsyncDir(dirname(path));
      }
    }
    this.checkedDirs.add(dir);
    return dir;
  }

  /** True when the entry's file is present with its recorded size (checked before a server-side delete). */
  async isDurable(entry: ManifestEntry): Promise<boolean> {
    try {
      const real = await resolveInside(this.root, entry.file);
      const info = await lstat(real);
      return info.isFile() && info.size === entry.size;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.writer.close();
    await unlink(this.lockPath).catch(() => undefined);
  }
}

async function takeLock(path: string): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
      await fd.writeFile(`${process.pid}\n`);
      await fd.close();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new ToolError(`cannot lock ${path}: ${(err as Error).message}`, 'local');
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new ToolError(`another archive run (pid ${pid}) is writing to this directory`, 'local');
      }
      // A lock left by a killed run: take it over.
      await unlink(path).catch(() => undefined);
    }
  }
  throw new ToolError(`cannot lock ${path}`, 'local');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
