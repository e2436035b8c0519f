/**
 * `mailstead archive verify DIR`: every manifest line's file is re-read and
 * its SHA-256 and size compared; every message file in the Maildir tree that
 * no line lists is reported. Problems: missing, altered, unlisted (and
 * duplicate lines naming one file). Reads only; changes nothing.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ToolError } from '../errors.js';
import { parseManifest, MANIFEST_NAME } from './manifest.js';
import { sha256 } from './write-once.js';

export interface VerifyProblem {
  kind: 'missing' | 'altered' | 'unlisted' | 'duplicate';
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
    if (listed.has(entry.file)) {
      report.problems.push({ kind: 'duplicate', file: entry.file, detail: 'listed more than once' });
      continue;
    }
    listed.add(entry.file);
    let content: Buffer;
    try {
      content = await readFile(join(root, entry.file));
    } catch {
      report.problems.push({ kind: 'missing', file: entry.file, detail: 'listed in the manifest, not on disk' });
      continue;
    }
    const digest = sha256(content);
    if (digest !== entry.sha256 || content.length !== entry.size) {
      report.problems.push({
        kind: 'altered',
        file: entry.file,
        detail: `sha256 ${digest.slice(0, 16)}… size ${content.length}, manifest says ${entry.sha256.slice(0, 16)}… size ${entry.size}`,
      });
      continue;
    }
    report.ok++;
  }
  for (const file of await messageFiles(root)) {
    if (!listed.has(file)) report.problems.push({ kind: 'unlisted', file, detail: 'on disk, not in the manifest' });
  }
  return report;
}

/** Every file under cur/ and new/ of the root and of each ".Folder" (relative paths). */
async function messageFiles(root: string): Promise<string[]> {
  const dirs = [root];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name.startsWith('.')) dirs.push(join(root, entry.name));
  }
  const files: string[] = [];
  for (const dir of dirs) {
    for (const sub of ['cur', 'new']) {
      let names: string[];
      try {
        names = await readdir(join(dir, sub));
      } catch {
        continue;
      }
      for (const name of names) files.push(relative(root, join(dir, sub, name)));
    }
  }
  return files.sort();
}
