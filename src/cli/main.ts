#!/usr/bin/env node
/**
 * The `mailstead` command. Thin: parse flags, call a module, map failures to
 * one-line messages and exit codes. Nothing imports this folder.
 */
import { Command, CommanderError } from 'commander';
import { UsageError } from './util.js';

/**
 * Each command's module, loaded only when that command runs (or all of them, for help and
 * unknown commands): `serve` then holds none of the other commands' code (issue 12, memory at start).
 */
const COMMANDS: Array<[string, () => Promise<(program: Command) => void>]> = [
  ['serve', async () => (await import('./serve.js')).registerServeCommand],
  ['user', async () => (await import('./user.js')).registerUserCommands],
  ['deliver', async () => (await import('./deliver.js')).registerDeliverCommand],
  ['expire', async () => (await import('./expire.js')).registerExpireCommand],
  ['archive', async () => (await import('./archive.js')).registerArchiveCommand],
  ['import', async () => (await import('./import.js')).registerImportCommand],
  ['speedtest', async () => (await import('./speedtest.js')).registerSpeedtestCommand],
  ['store', async () => (await import('./store.js')).registerStoreCommands],
];

const program = new Command();
program
  .name('mailstead')
  .description('Mailstead: one server-side mail store served over IMAP, POP3 and LMTP, with TLS everywhere.')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

const named = COMMANDS.find(([name]) => name === process.argv[2]);
for (const [, load] of named ? [named] : COMMANDS) (await load())(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version end here with code 0; usage errors were already printed by commander.
    process.exit(err.exitCode === 0 ? 0 : 64);
  }
  if (err instanceof UsageError) {
    process.stderr.write(`mailstead: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`mailstead: ${(err as Error).message}\n`);
  process.exit(1);
}
