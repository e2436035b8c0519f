/**
 * Archiving IMAP folders. A message is identified by UIDVALIDITY and UID
 * (RFC 9051 §2.3.1.1), so each run downloads only what the manifest lacks.
 * Folders are EXAMINEd (read-only) unless --delete, and bodies fetched with
 * BODY.PEEK[] so \Seen never changes. --delete needs UIDPLUS (RFC 4315): UID
 * EXPUNGE removes exactly our messages, where a plain EXPUNGE would also
 * remove anything another client had marked \Deleted.
 * A folder is known by its name exactly as the server LISTs it (imapflow's
 * `path` drops a leading delimiter, which would turn "/" into ""), and its
 * local directory is built by folderDirName and checked by safe-path.ts; a
 * folder or message whose local path would not be safe is refused and counted.
 */
import type { ImapFlow, ListResponse } from 'imapflow';
import { decodePath } from 'imapflow/lib/tools.js';
import type { ArchiveDir } from './archive-dir.js';
import { hasCapability, openImap } from './connect.js';
import { ToolError, toToolError } from '../errors.js';
import { printable, UnsafePathError } from '../safe-path.js';
import { Progress } from './progress.js';
import type { ArchiveOptions, ArchiveReport } from './types.js';

/** UIDs per UID FETCH of bodies and per UID EXPUNGE. */
const BATCH = 50;

interface FolderInfo {
  path: string;
  delimiter: string;
}

export async function archiveImap(dir: ArchiveDir, opts: ArchiveOptions, report: ArchiveReport): Promise<void> {
  const where = `imap ${opts.url.host}:${opts.url.port}`;
  const client = await openImap(opts.url, opts.password, opts.trust);
  try {
    if (opts.delete && !hasCapability(client, 'UIDPLUS')) {
      throw new ToolError(
        `${where}: the server does not offer UIDPLUS; --delete would need a plain EXPUNGE, which also removes messages other clients marked \\Deleted. Run without --delete.`,
        'capability',
      );
    }
    const folders = await chooseFolders(client, opts);
    const progress = new Progress({ label: 'archive', total: 0, enabled: opts.progress });
    try {
      for (const folder of folders) {
        try {
          await archiveFolder(client, dir, folder, opts, report, progress);
        } catch (err) {
          if (!(err instanceof UnsafePathError)) throw err;
          report.refused.push({ message: `folder ${printable(folder.path)}`, reason: err.message });
        }
      }
    } finally {
      progress.stop();
    }
    await client.logout();
  } catch (err) {
    throw toToolError(err, where);
  } finally {
    client.close();
  }
}

async function chooseFolders(client: ImapFlow, opts: ArchiveOptions): Promise<FolderInfo[]> {
  const list = await client.list();
  if (!opts.allFolders) {
    const wanted = opts.url.folder ?? 'INBOX';
    const found = list.find((m) => m.path === wanted || (wanted.toUpperCase() === 'INBOX' && m.path.toUpperCase() === 'INBOX'));
    if (!found) throw new ToolError(`no folder "${wanted}" on the server`, 'usage');
    return [listedFolder(client, found)];
  }
  return list.filter((m) => !m.flags.has('\\Noselect') && !m.flags.has('\\NonExistent')).map((m) => listedFolder(client, m));
}

function listedFolder(client: ImapFlow, m: ListResponse): FolderInfo {
  const path = m.path.toUpperCase() === 'INBOX' || m.pathAsListed === undefined ? m.path : decodePath(client, m.pathAsListed);
  return { path, delimiter: m.delimiter || '/' };
}

async function archiveFolder(
  client: ImapFlow,
  dir: ArchiveDir,
  folder: FolderInfo,
  opts: ArchiveOptions,
  report: ArchiveReport,
  progress: Progress,
): Promise<void> {
  const source = opts.url.account;
  const name = folder.path.toUpperCase() === 'INBOX' ? 'INBOX' : folder.path;
  report.folders.push(name);
  const reconciled = await dir.reconcile(source, name, folder.delimiter);
  report.recovered += reconciled.recovered;
  report.removedTmp += reconciled.removedTmp;

  const lock = await client.getMailboxLock(folder.path, { readOnly: !opts.delete });
  try {
    const mailbox = client.mailbox;
    if (!mailbox) throw new ToolError(`cannot select ${folder.path}`, 'protocol');
    const uidValidity = Number(mailbox.uidValidity);
    if (mailbox.exists === 0) return;
    const onServer: number[] = [];
    for await (const m of client.fetch('1:*', { uid: true }, { uid: true })) onServer.push(m.uid);
    onServer.sort((a, b) => a - b);
    report.seen += onServer.length;
    const key = (uid: number) => ({ kind: 'imap' as const, uidValidity, uid });
    const todo = onServer.filter((uid) => !dir.lookup(source, name, key(uid)));
    report.alreadyArchived += onServer.length - todo.length;
    progress.addTotal(todo.length);

    const deletable: number[] = [];
    for (const uid of onServer) {
      const entry = dir.lookup(source, name, key(uid));
      if (!entry || !opts.delete) continue;
      if (await dir.isDurable(entry)) deletable.push(uid);
      else report.failed.push({ message: `${name} UID ${uid}`, reason: `${printable(entry.file)} is missing or altered; not deleted on the server` });
    }

    for (let i = 0; i < todo.length; i += BATCH) {
      const batch = todo.slice(i, i + BATCH);
      const got = new Set<number>();
      for await (const m of client.fetch(batch.join(','), { uid: true, source: true, flags: true, internalDate: true }, { uid: true })) {
        if (!m.source) continue;
        const internalDate = m.internalDate instanceof Date ? m.internalDate : m.internalDate ? new Date(m.internalDate) : null;
        await dir.archive(
          { source, folder: name, key: key(m.uid), content: m.source, flags: storableFlags(m.flags), internalDate },
          folder.delimiter,
        );
        got.add(m.uid);
        report.archived++;
        report.bytes += m.source.length;
        progress.tick(m.source.length);
        if (opts.delete) deletable.push(m.uid);
      }
      // A UID that vanished between listing and fetching was expunged by someone else: not a failure.
      for (const uid of batch) {
        if (got.has(uid)) continue;
        if (await stillThere(client, uid)) report.failed.push({ message: `${name} UID ${uid}`, reason: 'the server returned no body' });
        else report.seen--;
      }
      await expunge(client, deletable, report);
    }
    await expunge(client, deletable, report);
  } finally {
    lock.release();
  }
}

async function stillThere(client: ImapFlow, uid: number): Promise<boolean> {
  const found = await client.search({ uid: String(uid) }, { uid: true });
  return Array.isArray(found) && found.includes(uid);
}

/** \Deleted + UID EXPUNGE of exactly these UIDs (all durable in the archive); empties the list. */
async function expunge(client: ImapFlow, uids: number[], report: ArchiveReport): Promise<void> {
  while (uids.length > 0) {
    const batch = uids.splice(0, BATCH);
    const ok = await client.messageDelete(batch.join(','), { uid: true });
    if (!ok) throw new ToolError(`UID EXPUNGE failed for ${batch.length} messages`, 'protocol');
    report.deleted += batch.length;
  }
}

/** \Recent is session state that no client may set (RFC 3501 §2.3.2; gone in RFC 9051): not archived. */
function storableFlags(flags: Set<string> | undefined): string[] {
  return [...(flags ?? [])].filter((f) => f.toLowerCase() !== '\\recent');
}
