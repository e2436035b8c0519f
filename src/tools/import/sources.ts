/**
 * Finding the messages of an import SOURCE (docs/archive.md, "Import"):
 * - a directory with manifest.jsonl: an archive made by `mailstead archive`
 *   (folders, flags, INTERNALDATE and POP3 UIDLs from the manifest; each file's
 *   SHA-256 is checked before it is imported);
 * - a directory with cur/ or new/: a Maildir, ".A.B" subfolders as "A/B"
 *   (Maildir++, levels in modified UTF-7), flags from the ":2," info;
 * - any other directory: .eml files, subdirectories as folders;
 * - a file: an .eml message, or an mbox (folder from its name: "Sent.mbox"
 *   is "Sent"; "mbox" and "inbox" are INBOX).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { decodeMailboxName } from '../../protocol/imap/mutf7.js';
import { ToolError } from '../errors.js';
import { MANIFEST_NAME, parseManifest } from '../archive/manifest.js';
import { maildirLettersToFlags, splitMaildirName } from '../archive/maildir-flags.js';
import { sha256 } from '../archive/write-once.js';
import { isMbox, type MboxVariant, parseMbox } from './mbox.js';
import type { ImportItem, ImportSource } from './types.js';

export async function openSource(path: string, variant: MboxVariant): Promise<ImportSource> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new ToolError(`no such file or directory: ${path}`, 'usage');
  }
  if (info.isFile()) {
    if (/\.eml$/i.test(path)) return { kind: 'eml', path, items: [emlItem(path, 'INBOX', basename(path))] };
    return { kind: 'mbox', path, items: await mboxItems(path, variant) };
  }
  const names = await readdir(path);
  if (names.includes(MANIFEST_NAME)) return { kind: 'archive', path, items: await archiveItems(path) };
  if (names.includes('cur') || names.includes('new')) return { kind: 'maildir', path, items: await maildirItems(path) };
  const items = await emlItems(path, path);
  if (items.length === 0) throw new ToolError(`${path}: not a Maildir, an archive, or a directory of .eml files`, 'usage');
  return { kind: 'eml', path, items };
}

/** "Sent.mbox" -> "Sent"; "mbox", "inbox", "Inbox.mbx" -> INBOX. */
export function mboxFolderName(path: string): string {
  const name = basename(path).replace(/\.(mbox|mbx)$/i, '');
  return /^(mbox|inbox)$/i.test(name) ? 'INBOX' : name;
}

async function mboxItems(path: string, variant: MboxVariant): Promise<ImportItem[]> {
  const data = await readFile(path);
  if (!isMbox(data)) throw new ToolError(`${path}: not an mbox file (it does not begin with "From ")`, 'usage');
  const folder = mboxFolderName(path);
  return parseMbox(data, variant).map((m, i) => ({
    folder,
    label: `${path}#${i + 1}`,
    load: async () => m.content,
    flags: m.flags,
    internalDate: m.fromLineDate,
    uidl: null,
  }));
}

/** ".Sent Items" -> "Sent Items", ".Archive.2019" -> "Archive/2019"; levels are modified UTF-7. */
export function maildirFolderName(dirName: string): string {
  return dirName
    .slice(1)
    .split('.')
    .map((level) => {
      try {
        return decodeMailboxName(level);
      } catch {
        return level;
      }
    })
    .join('/');
}

async function maildirItems(root: string): Promise<ImportItem[]> {
  const folders: Array<[string, string]> = [[root, 'INBOX']];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name.startsWith('.') && entry.name !== '.' && entry.name !== '..') {
      const sub = await readdir(join(root, entry.name)).catch(() => [] as string[]);
      if (sub.includes('cur') || sub.includes('new')) folders.push([join(root, entry.name), maildirFolderName(entry.name)]);
    }
  }
  const items: ImportItem[] = [];
  for (const [dir, folder] of folders) {
    for (const sub of ['new', 'cur']) {
      const names = (await readdir(join(dir, sub)).catch(() => [] as string[])).filter((n) => !n.startsWith('.')).sort();
      for (const name of names) {
        const path = join(dir, sub, name);
        const info = await stat(path);
        if (!info.isFile()) continue;
        const { letters } = splitMaildirName(name);
        items.push({
          folder,
          label: relative(root, path) || path,
          load: () => readFile(path),
          flags: sub === 'cur' ? maildirLettersToFlags(letters) : [],
          internalDate: maildirDate(name, info.mtime),
          uidl: null,
        });
      }
    }
  }
  return items;
}

/**
 * INTERNALDATE of a Maildir file: the earlier of its mtime (Dovecot sets it to
 * the INTERNALDATE when saving) and the delivery time at the start of its
 * name. A copy that did not keep mtimes has a later mtime, so the name wins;
 * a message saved with an older INTERNALDATE has the older mtime, which wins.
 */
export function maildirDate(name: string, mtime: Date): Date {
  const m = /^(\d{9,11})\./.exec(name);
  if (!m) return mtime;
  const named = new Date(Number(m[1]) * 1000);
  return named.getTime() < mtime.getTime() ? named : mtime;
}

async function emlItems(root: string, dir: string): Promise<ImportItem[]> {
  const items: ImportItem[] = [];
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) items.push(...(await emlItems(root, path)));
    else if (entry.isFile() && /\.eml$/i.test(entry.name)) {
      const rel = relative(root, dir);
      items.push(emlItem(path, rel === '' ? 'INBOX' : rel.split('/').join('/'), relative(root, path)));
    }
  }
  return items;
}

function emlItem(path: string, folder: string, label: string): ImportItem {
  // No INTERNALDATE is recorded for an .eml file: the header's dates are used (topmost Received, then Date).
  return { folder, label, load: () => readFile(path), flags: [], internalDate: null, uidl: null };
}

async function archiveItems(root: string): Promise<ImportItem[]> {
  const text = await readFile(join(root, MANIFEST_NAME), 'utf8');
  const complete = text.endsWith('\n') ? text : text.slice(0, text.lastIndexOf('\n') + 1);
  const entries = parseManifest(complete, join(root, MANIFEST_NAME));
  return entries.map((e) => ({
    folder: e.folder === null ? 'INBOX' : e.folder.split(e.delimiter || '/').join('/'),
    label: e.file,
    load: async () => {
      const content = await readFile(join(root, e.file));
      if (sha256(content) !== e.sha256) throw new Error('the archived file does not match its manifest checksum (run archive verify)');
      return content;
    },
    flags: e.flags ?? [],
    internalDate: new Date(e.internalDate),
    uidl: e.uidl ?? null,
  }));
}
