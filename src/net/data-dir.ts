/**
 * Opens the store of a data directory. Kept apart from node.ts so that the
 * short-lived commands (`user`, `deliver`, `import --direct`) do not load the
 * protocol sessions they never run.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteStore } from '../store/sqlite/index.js';
import type { MailStore } from '../store/types.js';

export function storePath(dataDir: string): string {
  return join(dataDir, 'mailstead.db');
}

export async function openDataDir(dataDir: string): Promise<MailStore> {
  mkdirSync(dataDir, { recursive: true, mode: 0o750 });
  return openSqliteStore(storePath(dataDir), { blobDir: blobDir(dataDir) });
}

/** Message bodies, one file each (blobs/ab/cd/<sha256>). */
export function blobDir(dataDir: string): string {
  return join(dataDir, 'blobs');
}
