/**
 * The archive manifest, DIR/manifest.jsonl: one JSON object per line, one
 * line per archived message, only ever appended (docs/archive.md). A line is
 * written after the message file is durable and is itself fsynced before the
 * message may be deleted on the server. A run killed mid-write leaves at most
 * one torn last line without its "\n"; it is cut off when the manifest is
 * next opened (the message it described is recovered from its file).
 */
import { constants } from 'node:fs';
import { type FileHandle, open, readFile, truncate } from 'node:fs/promises';
import { join } from 'node:path';

export const MANIFEST_NAME = 'manifest.jsonl';

export interface ManifestEntry {
  /** Format version. */
  v: 1;
  /** The account: "pop3://user@host" or "imap://user@host" (no port, no password). */
  source: string;
  /** IMAP folder name as the server spells it (decoded), null for POP3. */
  folder: string | null;
  /** The server's hierarchy delimiter for `folder` (IMAP only). */
  delimiter?: string;
  /** POP3 UIDL (RFC 1939 §7), when the message came over POP3. */
  uidl?: string;
  /** IMAP UIDVALIDITY and UID (RFC 9051 §2.3.1.1), when it came over IMAP. */
  uidValidity?: number;
  uid?: number;
  sha256: string;
  size: number;
  /** IMAP INTERNALDATE; for POP3 the topmost Received date, else the Date header, else archivedAt. */
  internalDate: string;
  /** The Date header, when readable. */
  date: string | null;
  archivedAt: string;
  /** IMAP flags at archive time (also in the file name's info part). */
  flags: string[];
  /** Path of the message file relative to the archive directory. */
  file: string;
  /** Set when the line was re-created from the file after an interrupted run. */
  recovered?: true;
}

/** Reads the manifest; a torn last line (no line end) is cut off durably first. */
export async function readManifest(dir: string): Promise<ManifestEntry[]> {
  const path = join(dir, MANIFEST_NAME);
  let text: Buffer;
  try {
    text = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const lastLf = text.lastIndexOf(0x0a);
  if (lastLf !== text.length - 1) {
    await truncate(path, lastLf + 1);
    text = text.subarray(0, lastLf + 1);
  }
  return parseManifest(text.toString('utf8'), path);
}

export function parseManifest(text: string, where = MANIFEST_NAME): ManifestEntry[] {
  const entries: ManifestEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    let entry: ManifestEntry;
    try {
      entry = JSON.parse(line) as ManifestEntry;
    } catch {
      throw new Error(`${where}: line ${i + 1} is not JSON; the manifest is damaged`);
    }
    if (typeof entry.file !== 'string' || typeof entry.sha256 !== 'string' || typeof entry.source !== 'string') {
      throw new Error(`${where}: line ${i + 1} lacks file, sha256 or source`);
    }
    entries.push(entry);
  }
  return entries;
}

/** An open manifest to which lines are appended one at a time, each fsynced. */
export class ManifestWriter {
  private constructor(private readonly fd: FileHandle) {}

  static async open(dir: string): Promise<ManifestWriter> {
    const fd = await open(join(dir, MANIFEST_NAME), constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o644);
    return new ManifestWriter(fd);
  }

  async append(entry: ManifestEntry): Promise<void> {
    // One write(2) of the whole line with O_APPEND: a crash leaves either nothing or a prefix.
    await this.fd.write(`${JSON.stringify(entry)}\n`);
    await this.fd.datasync();
  }

  async close(): Promise<void> {
    await this.fd.close();
  }
}
