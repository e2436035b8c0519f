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
 * Inside a directory source every path comes from file data (a manifest line,
 * a file name) and must stay inside the source (safe-path.ts): an entry that
 * names "../x", an absolute path or a NUL, or is a symbolic link out of the
 * source, is refused — listed in ImportSource.refused, never read.
 */
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { ToolError } from '../errors.js';
import { folderFromDirName } from '../archive/folder-names.js';
import { MANIFEST_NAME, parseManifest } from '../archive/manifest.js';
import { maildirLettersToFlags, splitMaildirName } from '../archive/maildir-flags.js';
import { sha256 } from '../archive/write-once.js';
import { printable, readInside, relativeLevels, resolveInside, UnsafePathError } from '../safe-path.js';
import { isMbox, type MboxVariant, parseMbox } from './mbox.js';
import type { ImportItem, ImportSource, Refusal } from './types.js';

export async function openSource(path: string, variant: MboxVariant): Promise<ImportSource> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new ToolError(`no such file or directory: ${path}`, 'usage');
  }
  if (info.isFile()) {
    // A file named on the command line is the user's choice: read as it is.
    if (/\.eml$/i.test(path)) return { kind: 'eml', path, items: [emlItem(path, 'INBOX', basename(path))], refused: [] };
    return { kind: 'mbox', path, items: await mboxItems(path, variant), refused: [] };
  }
  const names = await readdir(path);
  const refused: Refusal[] = [];
  if (names.includes(MANIFEST_NAME)) return { kind: 'archive', path, items: await archiveItems(path, refused), refused };
  if (names.includes('cur') || names.includes('new')) return { kind: 'maildir', path, items: await maildirItems(path, refused), refused };
  const items = await emlItems(path, path, refused);
  if (items.length === 0 && refused.length === 0) throw new ToolError(`${path}: not a Maildir, an archive, or a directory of .eml files`, 'usage');
  return { kind: 'eml', path, items, refused };
}

/**
 * Whether a directory entry found while listing a source may be imported:
 * a regular file, or a symbolic link to one inside the source. A link out is
 * refused (recorded); anything else (a directory, a FIFO, a dangling link) is skipped.
 */
async function usableFile(root: string, path: string, refused: Refusal[]): Promise<boolean> {
  const rel = relative(root, path);
  const info = await lstat(path);
  if (!info.isSymbolicLink()) return info.isFile();
  try {
    return (await stat(await resolveInside(root, rel))).isFile();
  } catch (err) {
    if (err instanceof UnsafePathError) refused.push({ message: printable(rel), reason: err.reason });
    return false;
  }
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

/** ".Sent Items" -> "Sent Items", ".Archive.2019" -> "Archive/2019"; levels are modified UTF-7 (archive/folder-names.ts). */
export const maildirFolderName = folderFromDirName;

async function maildirItems(root: string, refused: Refusal[]): Promise<ImportItem[]> {
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
        if (!(await usableFile(root, path, refused))) continue;
        const info = await stat(path);
        const { letters } = splitMaildirName(name);
        const rel = relative(root, path);
        items.push({
          folder,
          label: printable(rel),
          load: () => readInside(root, rel),
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

/** .eml files below `dir`; a symbolic link to a directory is not followed (it may form a loop). */
async function emlItems(root: string, dir: string, refused: Refusal[]): Promise<ImportItem[]> {
  const items: ImportItem[] = [];
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) items.push(...(await emlItems(root, path, refused)));
    else if (/\.eml$/i.test(entry.name) && (await usableFile(root, path, refused))) {
      const folder = relative(root, dir);
      const rel = relative(root, path);
      items.push({ ...emlItem(path, folder === '' ? 'INBOX' : folder, printable(rel)), load: () => readInside(root, rel) });
    }
  }
  return items;
}

function emlItem(path: string, folder: string, label: string): ImportItem {
  // No INTERNALDATE is recorded for an .eml file: the header's dates are used (topmost Received, then Date).
  return { folder, label, load: () => readFile(path), flags: [], internalDate: null, uidl: null };
}

async function archiveItems(root: string, refused: Refusal[]): Promise<ImportItem[]> {
  const text = await readFile(join(root, MANIFEST_NAME), 'utf8');
  const complete = text.endsWith('\n') ? text : text.slice(0, text.lastIndexOf('\n') + 1);
  const entries = parseManifest(complete, join(root, MANIFEST_NAME));
  const items: ImportItem[] = [];
  for (const e of entries) {
    const label = printable(e.file);
    // The manifest is file data: its paths are checked before anything is opened.
    try {
      relativeLevels(e.file);
      await resolveInside(root, e.file);
    } catch (err) {
      if (err instanceof UnsafePathError) {
        refused.push({ message: label, reason: err.reason });
        continue;
      }
      // A missing file is reported when its turn comes, as a failure.
    }
    items.push({
      folder: e.folder === null ? 'INBOX' : e.folder.split(e.delimiter || '/').join('/'),
      label,
      load: async () => {
        const content = await readInside(root, e.file, e.size);
        if (sha256(content) !== e.sha256) throw new Error('the archived file does not match its manifest checksum (run archive verify)');
        return content;
      },
      flags: Array.isArray(e.flags) ? e.flags : [],
      internalDate: new Date(e.internalDate),
      uidl: e.uidl ?? null,
    });
  }
  return items;
}
