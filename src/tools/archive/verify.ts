/**
 * `mailstead archive verify DIR`: every manifest line's file is re-read and
 * its SHA-256 and size compared; every message file in the Maildir tree that
 * no line lists is reported. Problems: missing, altered, unlisted (and
 * duplicate lines naming one file), and unsafe: a line whose file is not a
 * plain relative path inside the archive, or leads out of it through a
 * symbolic link, or is not a regular file (safe-path.ts) — such a file is
 * never read — and a folder directory that is a symbolic link (not followed).
 * Reads only; changes nothing.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ToolError } from '../errors.js';
import { printable, readInside, UnsafePathError } from '../safe-path.js';
import { parseManifest, MANIFEST_NAME } from './manifest.js';
import { sha256 } from './write-once.js';

export interface VerifyProblem {
  kind: 'missing' | 'altered' | 'unlisted' | 'duplicate' | 'unsafe';
  /** Printable: control characters escaped (safe-path.ts printable). */
  file: string;
  detail: string;
}

export interface VerifyReport {
  listed: number;
  ok: number;
  problems: VerifyProblem[];
}

export async function verifyArchive(root: string): Promise<VerifyReport> {
  let text: string;
  try {
    text = await readFile(join(root, MANIFEST_NAME), 'utf8');
  } catch (err) {
    throw new ToolError(`${root} is not an archive: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? `no ${MANIFEST_NAME}` : (err as Error).message}`, 'usage');
  }
  // A torn last line (a run killed while appending) is not a problem of the archive: the next run cuts it.
  const complete = text.endsWith('\n') ? text : text.slice(0, text.lastIndexOf('\n') + 1);
  let entries;
  try {
    entries = parseManifest(complete, join(root, MANIFEST_NAME));
  } catch (err) {
    throw new ToolError((err as Error).message, 'local');
  }
  const report: VerifyReport = { listed: entries.length, ok: 0, problems: [] };
  const listed = new Set<string>();
  for (const entry of entries) {
    const file = printable(entry.file);
    if (listed.has(entry.file)) {
      report.problems.push({ kind: 'duplicate', file, detail: 'listed more than once' });
      continue;
    }
    listed.add(entry.file);
    let content: Buffer;
    try {
      content = await readInside(root, entry.file);
    } catch (err) {
      if (err instanceof UnsafePathError) report.problems.push({ kind: 'unsafe', file, detail: `${err.reason}; not read` });
      else report.problems.push({ kind: 'missing', file, detail: 'listed in the manifest, not on disk' });
      continue;
    }
    const digest = sha256(content);
    if (digest !== entry.sha256 || content.length !== entry.size) {
      report.problems.push({
        kind: 'altered',
        file,
        detail: `sha256 ${digest.slice(0, 16)}… size ${content.length}, manifest says ${entry.sha256.slice(0, 16)}… size ${entry.size}`,
      });
      continue;
    }
    report.ok++;
  }
  const tree = await messageFiles(root);
  for (const file of tree.files) {
    if (!listed.has(file)) report.problems.push({ kind: 'unlisted', file: printable(file), detail: 'on disk, not in the manifest' });
  }
  for (const link of tree.links) report.problems.push({ kind: 'unsafe', file: printable(link), detail: 'a symbolic link where a folder directory belongs; not followed' });
  return report;
}

/**
 * Every file under cur/ and new/ of the root and of each ".Folder" (relative
 * paths), and the folder directories that are symbolic links instead (the
 * archive never makes one: one may lead anywhere).
 */
async function messageFiles(root: string): Promise<{ files: string[]; links: string[] }> {
  const dirs = [root];
  const links: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (!entry.name.startsWith('.')) continue;
    if (entry.isDirectory()) dirs.push(join(root, entry.name));
    else if (entry.isSymbolicLink()) links.push(entry.name);
  }
  const files: string[] = [];
  for (const dir of dirs) {
    for (const sub of ['cur', 'new']) {
      const path = join(dir, sub);
      let names: string[];
      try {
        if ((await lstat(path)).isSymbolicLink()) {
          links.push(relative(root, path));
          continue;
        }
        names = await readdir(path);
      } catch {
        continue;
      }
      for (const name of names) files.push(relative(root, join(dir, sub, name)));
    }
  }
  return { files: files.sort(), links: links.sort() };
}
