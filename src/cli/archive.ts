/**
 * `mailstead archive SOURCE --to DIR` and `mailstead archive verify DIR`
 * (docs/archive.md). Thin: flags in, the tool's report out. Exit codes:
 * 0 done, 1 some messages failed or were refused (unsafe local path), or
 * verify found problems, 64 usage,
 * 3 unreachable, 4 TLS, 5 authentication, 6 capability missing, 7 protocol,
 * 8 local disk or archive problem.
 */
import type { Command } from 'commander';
import { EXIT_INCOMPLETE, ToolError } from '../tools/errors.js';
import type { ArchiveReport } from '../tools/archive/types.js';
import type { TrustOptions } from '../tools/archive/connect.js';
import { parseMailUrl } from '../tools/archive/url.js';
import { readCaFile, readRemotePassword } from './remote.js';
import { formatSize, UsageError } from './util.js';

export interface RemoteFlags {
  passwordStdin?: boolean;
  insecure?: boolean;
  ca?: string;
  allowPlaintext?: boolean;
  progress?: boolean;
}

export function trustFrom(flags: RemoteFlags): TrustOptions {
  const ca = flags.ca ? [readCaFile(flags.ca)] : undefined;
  if (flags.insecure) process.stderr.write('mailstead: warning: --insecure: the server certificate is not checked\n');
  return { insecure: flags.insecure, ca, allowPlaintext: flags.allowPlaintext };
}

/** Maps a ToolError to the CLI's one-line failure with its exit code. */
export function asUsageError(err: unknown): unknown {
  return err instanceof ToolError ? new UsageError(err.message, err.exitCode) : err;
}

export function addRemoteOptions(cmd: Command): Command {
  return cmd
    .option('--password-stdin', 'read the password from the first line of standard input')
    .option('--ca <file>', 'also trust the CA certificate(s) in this PEM file')
    .option('--insecure', 'accept any server certificate (self-signed); says so on stderr')
    .option('--allow-plaintext', 'allow imap:// or pop3:// without TLS when the server offers no STARTTLS')
    .option('--no-progress', 'no progress bar or progress lines');
}

export function registerArchiveCommand(program: Command): void {
  const archive = program
    .command('archive')
    .description('Keep a write-once local archive (Maildir + manifest) of a POP3 or IMAP account.')
    .argument('[source]', 'pop3s://USER@HOST[:PORT] or imaps://USER@HOST[:PORT][/FOLDER]')
    .option('--to <dir>', 'archive directory (created when missing); required')
    .option('--delete', 'delete each message on the server once its archive copy is durable')
    .option('--all-folders', 'IMAP: archive every folder, not only the one in the URL (INBOX by default)')
    .addHelpText('after', '\nExit codes: 0 done, 1 some messages failed or were refused, 64 usage, 3 unreachable, 4 TLS, 5 authentication, 6 capability, 7 protocol, 8 local.');
  addRemoteOptions(archive).action(async (sourceText: string | undefined, flags: RemoteFlags & { to: string; delete?: boolean; allFolders?: boolean }) => {
    try {
      if (!sourceText) throw new UsageError('missing SOURCE (pop3s://USER@HOST or imaps://USER@HOST[/FOLDER])');
      if (!flags.to) throw new UsageError('missing --to DIR');
      const url = parseMailUrl(sourceText, ['pop3', 'imap']);
      if (url.protocol === 'pop3' && flags.allFolders) throw new UsageError('--all-folders is for IMAP sources');
      const trust = trustFrom(flags);
      const password = await readRemotePassword(Boolean(flags.passwordStdin), `${url.user} at ${url.host}`);
      // The tools (and imapflow) load only when this command runs: `mailstead deliver` stays quick.
      const { runArchive } = await import('../tools/archive/archive.js');
      const report = await runArchive({
        url,
        password,
        trust,
        to: flags.to,
        delete: Boolean(flags.delete),
        allFolders: Boolean(flags.allFolders),
        progress: flags.progress !== false,
      });
      printArchiveReport(report);
      if (report.failed.length > 0 || report.refused.length > 0) process.exitCode = EXIT_INCOMPLETE;
    } catch (err) {
      throw asUsageError(err);
    }
  });

  // The archive command takes an optional source so that `archive verify DIR` parses as a subcommand.
  archive
    .command('verify')
    .description('Recompute every checksum of an archive; report missing, altered and unlisted files.')
    .argument('<dir>', 'archive directory')
    .addHelpText('after', '\nExit codes: 0 intact, 1 problems found, 64 not an archive.')
    .action(async (dir: string) => {
      try {
        const { verifyArchive } = await import('../tools/archive/verify.js');
        const report = await verifyArchive(dir);
        for (const p of report.problems) process.stdout.write(`${p.kind} ${p.file}: ${p.detail}\n`);
        const counts = ['missing', 'altered', 'unlisted', 'duplicate', 'unsafe'].map((k) => `${report.problems.filter((p) => p.kind === k).length} ${k}`);
        process.stdout.write(`verified ${report.ok} of ${report.listed} listed messages; ${counts.join(', ')}\n`);
        if (report.problems.length > 0) process.exitCode = EXIT_INCOMPLETE;
      } catch (err) {
        throw asUsageError(err);
      }
    });
}

function printArchiveReport(r: ArchiveReport): void {
  const rate = r.seconds > 0 ? (r.archived / r.seconds).toFixed(1) : '0';
  const lines = [
    `source ${r.source} (${r.folders.join(', ')})`,
    `archived ${r.archived} messages (${formatSize(r.bytes)}) in ${r.seconds.toFixed(1)} s, ${rate} msg/s`,
    `already archived ${r.alreadyArchived}; on the server ${r.seen}`,
    `deleted on the server ${r.deleted}`,
  ];
  if (r.recovered || r.removedTmp) lines.push(`recovered from an interrupted run: ${r.recovered} manifest lines re-created, ${r.removedTmp} torn files removed`);
  lines.push(`failed ${r.failed.length}`);
  for (const f of r.failed) lines.push(`failed ${f.message}: ${f.reason}`);
  lines.push(`refused ${r.refused.length} unsafe paths`);
  for (const f of r.refused) lines.push(`refused ${f.message}: ${f.reason}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
