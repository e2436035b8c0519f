/** `mailstead archive SOURCE --to DIR`: the entry point the CLI calls. */
import { ArchiveDir } from './archive-dir.js';
import { archiveImap } from './imap-archive.js';
import { archivePop3 } from './pop3-archive.js';
import { type ArchiveOptions, type ArchiveReport, emptyReport } from './types.js';

export async function runArchive(opts: ArchiveOptions): Promise<ArchiveReport> {
  const started = performance.now();
  const report = emptyReport(opts.url.account);
  const dir = await ArchiveDir.open(opts.to);
  try {
    if (opts.url.protocol === 'pop3') await archivePop3(dir, opts, report);
    else await archiveImap(dir, opts, report);
  } finally {
    await dir.close();
  }
  report.seconds = (performance.now() - started) / 1000;
  return report;
}
