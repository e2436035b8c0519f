/**
 * `mailstead import SOURCE... --to imaps://USER@HOST[:PORT]` and
 * `mailstead import SOURCE... --direct --data-dir DIR --to USER` (docs/archive.md).
 * Exit codes as `mailstead archive`: 0 done, 1 some messages failed or were
 * refused (a path out of the source: "refused N unsafe paths"), 64 usage,
 * 3 unreachable, 4 TLS, 5 authentication, 6 capability, 7 protocol, 8 local.
 */
import type { Command } from 'commander';
import { EXIT_INCOMPLETE } from '../tools/errors.js';
import { parseMailUrl } from '../tools/archive/url.js';
import type { ImportReport } from '../tools/import/import.js';
import { parseMaps } from '../tools/import/mapping.js';
import type { MboxVariant } from '../tools/import/mbox.js';
import { openSource } from '../tools/import/sources.js';
import type { ImportTarget } from '../tools/import/target.js';
import type { ImportItem, Refusal } from '../tools/import/types.js';
import { addRemoteOptions, asUsageError, type RemoteFlags, trustFrom } from './archive.js';
import { readRemotePassword } from './remote.js';
import { defaultDataDir, formatSize, UsageError } from './util.js';

interface ImportFlags extends RemoteFlags {
  to?: string;
  map: string[];
  dryRun?: boolean;
  direct?: boolean;
  dataDir?: string;
  store?: string;
  mboxFormat: string;
}

export function registerImportCommand(program: Command): void {
  const cmd = program
    .command('import')
    .description('Move local mail (Maildir, mbox, .eml files, a mailstead archive) into IMAP folders, keeping flags and dates.')
    .argument('<source...>', 'Maildir, mbox file(s), directory of .eml files, or an archive directory')
    .option('--to <target>', 'imaps://USER@HOST[:PORT]; with --direct, the account address')
    .option('--map <from=to>', 'map a source folder to a target folder (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--mbox-format <variant>', 'From_ quoting of mbox files: mboxrd or mboxo', 'mboxrd')
    .option('--dry-run', 'print the plan (and what is already present) without changing anything')
    .option('--direct', 'write straight into a local Mailstead store (administrators), keeping POP3 UIDLs')
    .option('--data-dir <dir>', 'with --direct: the data directory [default: ./data]')
    .option('--store <url>', 'with --direct: a PostgreSQL store, postgres://USER@HOST:PORT/DB, instead of the data directory')
    .addHelpText('after', '\nExit codes: 0 done, 1 some messages failed or were refused, 64 usage, 3 unreachable, 4 TLS, 5 authentication, 6 capability, 7 protocol, 8 local.');
  addRemoteOptions(cmd).action(async (sources: string[], flags: ImportFlags) => {
    try {
      if (!flags.to) throw new UsageError(flags.direct ? 'missing --to ADDRESS' : 'missing --to imaps://USER@HOST');
      if (flags.mboxFormat !== 'mboxrd' && flags.mboxFormat !== 'mboxo') throw new UsageError('--mbox-format is mboxrd or mboxo');
      if (flags.dataDir && !flags.direct) throw new UsageError('--data-dir goes with --direct');
      if (flags.store && !flags.direct) throw new UsageError('--store goes with --direct');
      const maps = parseMaps(flags.map);
      const items: ImportItem[] = [];
      const refused: Refusal[] = [];
      for (const source of sources) {
        const opened = await openSource(source, flags.mboxFormat as MboxVariant);
        const refusedHere = opened.refused.length > 0 ? `, ${opened.refused.length} refused (unsafe paths)` : '';
        process.stderr.write(`source ${opened.kind} ${source}: ${opened.items.length} messages${refusedHere}\n`);
        items.push(...opened.items);
        refused.push(...opened.refused);
      }
      let target: ImportTarget;
      if (flags.direct) {
        // --to may be the address or an imaps:// URL naming it; the host does not matter here.
        const address = /^[a-z0-9]+:\/\//i.test(flags.to) ? parseMailUrl(flags.to, ['imap']).user : flags.to;
        const { DirectTarget } = await import('../tools/import/direct-target.js');
        target = await DirectTarget.open(flags.dataDir ?? defaultDataDir(), address, flags.store);
      } else {
        const url = parseMailUrl(flags.to, ['imap']);
        const trust = trustFrom(flags);
        const { ImapTarget } = await import('../tools/import/imap-target.js');
        target = await ImapTarget.open(url, await readRemotePassword(Boolean(flags.passwordStdin), `${url.user} at ${url.host}`), trust);
      }
      let report: ImportReport;
      try {
        const { runImport } = await import('../tools/import/import.js');
        report = await runImport(target, {
          items,
          refused,
          maps,
          dryRun: Boolean(flags.dryRun),
          progress: flags.progress !== false,
          say: (line) => process.stdout.write(`${line}\n`),
        });
      } finally {
        await target.close();
      }
      printImportReport(report);
      if (report.failed.length > 0 || report.refused.length > 0) process.exitCode = EXIT_INCOMPLETE;
    } catch (err) {
      throw asUsageError(err);
    }
  });
}

function printImportReport(r: ImportReport): void {
  const verb = r.dryRun ? 'would import' : 'imported';
  const lines = [`target ${r.target}`];
  for (const f of r.folders) {
    lines.push(`folder ${f.from.join(', ')} -> ${f.to}${f.created ? ' (created)' : ''}: ${verb} ${f.imported}, skipped ${f.skipped}, failed ${f.failed}`);
  }
  lines.push(`${verb} ${r.imported} messages (${formatSize(r.bytes)}) in ${r.seconds.toFixed(1)} s`);
  lines.push(`skipped ${r.skipped} already present`);
  lines.push(`failed ${r.failed.length}`);
  for (const f of r.failed) lines.push(`failed ${f.message}: ${f.reason}`);
  lines.push(`refused ${r.refused.length} unsafe paths`);
  for (const f of r.refused) lines.push(`refused ${f.message}: ${f.reason}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
