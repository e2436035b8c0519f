/**
 * Archiving a POP3 maildrop (RFC 1939). UIDL identifies messages across
 * sessions (§7), so each run downloads only UIDLs not yet in the manifest.
 * With --delete a message gets DELE only once its copy is durable; the server
 * applies DELEs at QUIT (§6), so a run cut off before QUIT deletes nothing and
 * the next run deletes what the manifest holds. Read-only runs send RSET
 * before QUIT: Dovecot marks retrieved messages \Seen otherwise.
 */
import type { Pop3Client } from '../clients/pop3-client.js';
import { Pop3Error } from '../clients/pop3-client.js';
import type { ArchiveDir } from './archive-dir.js';
import { openPop3 } from './connect.js';
import { ToolError, toToolError } from '../errors.js';
import { printable, UnsafePathError } from '../safe-path.js';
import { Progress } from './progress.js';
import type { ArchiveOptions, ArchiveReport } from './types.js';

export async function archivePop3(dir: ArchiveDir, opts: ArchiveOptions, report: ArchiveReport): Promise<void> {
  const source = opts.url.account;
  const where = `pop3 ${opts.url.host}:${opts.url.port}`;
  const reconciled = await dir.reconcile(source, null, '/');
  report.recovered += reconciled.recovered;
  report.removedTmp += reconciled.removedTmp;
  report.folders.push('POP3 maildrop');

  const client = await openPop3(opts.url, opts.password, opts.trust);
  try {
    let listing;
    try {
      listing = await client.uidl();
    } catch (err) {
      if (err instanceof Pop3Error && err.kind === 'protocol') {
        throw new ToolError(`${where}: the server does not support UIDL, which resuming an archive needs`, 'capability');
      }
      throw err;
    }
    report.seen = listing.length;
    const todo = listing.filter((m) => !dir.lookup(source, null, { kind: 'pop3', uidl: m.uidl }));
    report.alreadyArchived = listing.length - todo.length;
    const progress = new Progress({ label: 'archive', total: todo.length, enabled: opts.progress });
    try {
      for (const m of todo) {
        let content: Buffer;
        try {
          content = await client.retr(m.number);
        } catch (err) {
          if (err instanceof Pop3Error && err.kind === 'protocol') {
            report.failed.push({ message: `UIDL ${m.uidl}`, reason: err.serverText ?? err.message });
            continue;
          }
          throw err;
        }
        try {
          await dir.archive({ source, folder: null, key: { kind: 'pop3', uidl: m.uidl }, content, flags: [], internalDate: null }, '/');
        } catch (err) {
          // RFC 1939 §7 bounds a UIDL to 70 characters; a longer one cannot name a file.
          if (!(err instanceof UnsafePathError)) throw err;
          report.refused.push({ message: `UIDL ${printable(m.uidl.slice(0, 80))}`, reason: err.reason });
          continue;
        }
        report.archived++;
        report.bytes += content.length;
        progress.tick(content.length);
        if (opts.delete) await dele(client, m.number, report, `UIDL ${m.uidl}`);
      }
    } finally {
      progress.stop();
    }
    if (opts.delete) {
      // Messages archived by an earlier run (or one killed before QUIT) are deleted now,
      // once their file is confirmed present with its recorded size.
      for (const m of listing) {
        const entry = dir.lookup(source, null, { kind: 'pop3', uidl: m.uidl });
        if (!entry || todo.includes(m)) continue;
        if (await dir.isDurable(entry)) await dele(client, m.number, report, `UIDL ${m.uidl}`);
        else report.failed.push({ message: `UIDL ${m.uidl}`, reason: `${printable(entry.file)} is missing or altered; not deleted on the server` });
      }
    } else {
      await client.rset();
    }
    // DELEs take effect only now (RFC 1939 §6); a failure before this point deleted nothing.
    await client.quit();
  } catch (err) {
    throw toToolError(err, where);
  } finally {
    client.close();
  }
}

async function dele(client: Pop3Client, n: number, report: ArchiveReport, label: string): Promise<void> {
  try {
    await client.dele(n);
    report.deleted++;
  } catch (err) {
    if (err instanceof Pop3Error && err.kind === 'protocol') report.failed.push({ message: label, reason: `DELE refused: ${err.serverText ?? err.message}` });
    else throw err;
  }
}
