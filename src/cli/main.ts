#!/usr/bin/env node
/**
 * The `mailstead` command. Thin: parse flags, call a module, map failures to
 * one-line messages and exit codes. Nothing imports this folder.
 */
import { Command, CommanderError } from 'commander';
import { registerArchiveCommand } from './archive.js';
import { registerDeliverCommand } from './deliver.js';
import { registerImportCommand } from './import.js';
import { registerExpireCommand } from './expire.js';
import { registerServeCommand } from './serve.js';
import { registerSpeedtestCommand } from './speedtest.js';
import { registerStoreCommands } from './store.js';
import { registerUserCommands } from './user.js';
import { UsageError } from './util.js';

const program = new Command();
program
  .name('mailstead')
  .description('Mailstead: one server-side mail store served over IMAP, POP3 and LMTP, with TLS everywhere.')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerServeCommand(program);
registerUserCommands(program);
registerDeliverCommand(program);
registerExpireCommand(program);
registerArchiveCommand(program);
registerImportCommand(program);
registerSpeedtestCommand(program);
registerStoreCommands(program);

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
