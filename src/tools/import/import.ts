/**
 * `mailstead import SOURCE... --to imaps://USER@HOST`: the entry point the CLI
 * calls. For each target folder: list what is there, then for each source
 * message either skip it (a present message with the same size — and the same
 * Message-ID when both have one — has the same content hash) or queue it for
 * APPEND. Each present message can stand for only one source message, so a
 * message that is in the source twice is imported twice, once. A rerun after
 * an interruption therefore imports only what is missing.
 */
import { headerFacts } from '../archive/message-info.js';
import { Progress } from '../archive/progress.js';
import { sha256 } from '../archive/write-once.js';
import { mapFolder } from './mapping.js';
import type { ImportTarget, OutgoingMessage, PresentMessage } from './target.js';
import { UnsafePathError } from '../safe-path.js';
import type { ImportItem, Refusal } from './types.js';

/** Messages, and bytes, per APPEND batch (one MULTIAPPEND when offered). */
const BATCH_MESSAGES = 20;
const BATCH_BYTES = 4 * 1024 * 1024;

export interface ImportOptions {
  items: ImportItem[];
  /** Entries the sources refused while being listed (unsafe paths): carried into the report. */
  refused?: Refusal[];
  maps: Map<string, string>;
  dryRun: boolean;
  progress: boolean;
  /** Called with each line of the --dry-run plan. */
  say: (line: string) => void;
}

export interface FolderReport {
  from: string[];
  to: string;
  created: boolean;
  imported: number;
  skipped: number;
  failed: number;
}

export interface ImportReport {
  target: string;
  folders: FolderReport[];
  imported: number;
  bytes: number;
  skipped: number;
  failed: Array<{ message: string; reason: string }>;
  /** Entries not imported because their path leads outside the source (safe-path.ts). */
  refused: Refusal[];
  seconds: number;
  dryRun: boolean;
}

/** RFC 5322 §2.3: CRLF line ends; files from Unix tools often have bare LF. */
export function toCrlf(content: Buffer): Buffer {
  if (!content.includes(0x0a)) return content;
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = content.indexOf(0x0a); i !== -1; i = content.indexOf(0x0a, i + 1)) {
    if (i > 0 && content[i - 1] === 0x0d) continue;
    parts.push(content.subarray(start, i), Buffer.from('\r\n'));
    start = i + 1;
  }
  if (parts.length === 0) return content;
  parts.push(content.subarray(start));
  return Buffer.concat(parts);
}

export async function runImport(target: ImportTarget, opts: ImportOptions): Promise<ImportReport> {
  const started = performance.now();
  const report: ImportReport = { target: target.description, folders: [], imported: 0, bytes: 0, skipped: 0, failed: [], refused: [...(opts.refused ?? [])], seconds: 0, dryRun: opts.dryRun };
  const serverFolders = await target.folders();
  const groups = new Map<string, { from: Set<string>; items: ImportItem[] }>();
  for (const item of opts.items) {
    const to = mapFolder(item.folder, opts.maps, serverFolders);
    const group = groups.get(to) ?? { from: new Set<string>(), items: [] };
    group.from.add(item.folder);
    group.items.push(item);
    groups.set(to, group);
  }
  const progress = new Progress({ label: opts.dryRun ? 'check' : 'import', total: opts.items.length, enabled: opts.progress });
  try {
    for (const [to, group] of groups) {
      const exists = serverFolders.some((f) => f.name === to || (to === 'INBOX' && f.name.toUpperCase() === 'INBOX'));
      const folder: FolderReport = { from: [...group.from], to, created: false, imported: 0, skipped: 0, failed: 0 };
      report.folders.push(folder);
      if (opts.dryRun) {
        opts.say(`plan: ${folder.from.join(', ')} -> ${to}: ${group.items.length} messages${exists ? '' : ' (folder will be created)'}`);
      } else {
        folder.created = await target.ensureFolder(to);
      }
      await importFolder(target, to, group.items, folder, report, progress, opts.dryRun);
    }
  } finally {
    progress.stop();
  }
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

async function importFolder(
  target: ImportTarget,
  to: string,
  items: ImportItem[],
  folder: FolderReport,
  report: ImportReport,
  progress: Progress,
  dryRun: boolean,
): Promise<void> {
  const present = await target.present(to);
  const consumed = new Set<number>();
  const hashes = new Map<number, string>();
  let queue: Array<{ item: ImportItem; message: OutgoingMessage }> = [];
  let queuedBytes = 0;

  const flush = async () => {
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    queuedBytes = 0;
    if (dryRun) {
      for (const q of batch) countImported(q.message);
      return;
    }
    try {
      await target.append(to, batch.map((q) => q.message));
      for (const q of batch) countImported(q.message);
    } catch (err) {
      if (batch.length === 1 || isConnectionError(err)) {
        if (isConnectionError(err)) throw err;
        fail(batch[0]!.item, err);
        return;
      }
      // The batch is all-or-nothing (RFC 3502 §6.3.11): retry one by one to name the refused message.
      for (const q of batch) {
        try {
          await target.append(to, [q.message]);
          countImported(q.message);
        } catch (e) {
          if (isConnectionError(e)) throw e;
          fail(q.item, e);
        }
      }
    }
  };
  const countImported = (m: OutgoingMessage) => {
    folder.imported++;
    report.imported++;
    report.bytes += m.content.length;
    progress.tick(m.content.length);
  };
  const fail = (item: ImportItem, err: unknown) => {
    folder.failed++;
    report.failed.push({ message: item.label, reason: reasonOf(err) });
    progress.tick(0);
  };

  for (const item of items) {
    let content: Buffer;
    try {
      content = toCrlf(await item.load());
    } catch (err) {
      if (err instanceof UnsafePathError) {
        // Checked when the source was listed; this catches a file swapped for a link since.
        report.refused.push({ message: item.label, reason: err.reason });
        progress.tick(0);
      } else fail(item, err);
      continue;
    }
    const facts = headerFacts(content);
    const digest = sha256(content);
    if (await alreadyPresent(target, to, present, consumed, hashes, content.length, facts.messageId, digest)) {
      folder.skipped++;
      report.skipped++;
      progress.tick(0);
      continue;
    }
    const message: OutgoingMessage = {
      content,
      // \Recent cannot be set by APPEND (RFC 3501 §2.3.2); an old archive may list it.
      flags: item.flags.filter((f) => f.toLowerCase() !== '\\recent'),
      internalDate: item.internalDate ?? facts.receivedDate ?? facts.date ?? new Date(),
      uidl: item.uidl ?? facts.xUidl,
    };
    queue.push({ item, message });
    queuedBytes += content.length;
    if (queue.length >= BATCH_MESSAGES || queuedBytes >= BATCH_BYTES) await flush();
  }
  await flush();
}

async function alreadyPresent(
  target: ImportTarget,
  folder: string,
  present: PresentMessage[],
  consumed: Set<number>,
  hashes: Map<number, string>,
  size: number,
  messageId: string | null,
  digest: string,
): Promise<boolean> {
  for (const p of present) {
    if (consumed.has(p.id) || p.size !== size) continue;
    if (messageId && p.messageId && p.messageId !== messageId) continue;
    let hash = hashes.get(p.id);
    if (hash === undefined) {
      hash = sha256(toCrlf(await target.contentOf(folder, p.id)));
      hashes.set(p.id, hash);
    }
    if (hash === digest) {
      consumed.add(p.id);
      return true;
    }
  }
  return false;
}

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string })?.code ?? '';
  return /^(NoConnection|EConnectionClosed|ECONNRESET|EPIPE|ETIMEDOUT)$/.test(code);
}

function reasonOf(err: unknown): string {
  const e = err as { responseText?: string; message?: string };
  return (e?.responseText ?? e?.message ?? String(err)).replace(/\s+/g, ' ').trim().slice(0, 300);
}
