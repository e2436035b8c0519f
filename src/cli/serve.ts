/** `mailstead serve`: run a node until SIGTERM/SIGINT. */
import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../config/load.js';
import { DataDirLocked } from '../net/data-dir-lock.js';
import { type RunningNode, startNode } from '../net/node.js';
import { createLogger } from '../observability/log.js';
import { EX, UsageError } from './util.js';

interface ServeFlags {
  config?: string;
  dataDir?: string;
  store?: string;
  imap?: string;
  imaps?: string;
  pop3?: string;
  pop3s?: string;
  lmtp?: string;
  http?: string;
  https?: string;
  tlsCert?: string;
  tlsKey?: string;
  logLevel?: string;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('Run the server: IMAP, IMAPS, POP3, POP3S, LMTP (and optionally HTTP/HTTPS for JMAP) listeners over one store.')
    .option('--config <file>', 'configuration file (JSON if it ends in .json, else TOML)')
    .option('--data-dir <dir>', 'data directory (store, generated certificate) [default: ./data]')
    .option('--store <url>', 'PostgreSQL store shared by a cluster: postgres://USER@HOST:PORT/DB [default: SQLite in the data directory]')
    .option('--imap <addr>', 'IMAP with STARTTLS: host:port or off [default: 127.0.0.1:143]')
    .option('--imaps <addr>', 'IMAP over implicit TLS: host:port or off [default: 127.0.0.1:993]')
    .option('--pop3 <addr>', 'POP3 with STLS: host:port or off [default: 127.0.0.1:110]')
    .option('--pop3s <addr>', 'POP3 over implicit TLS: host:port or off [default: 127.0.0.1:995]')
    .option('--lmtp <addr>', 'LMTP delivery from the MTA: host:port or off [default: 127.0.0.1:24]')
    .option('--http <addr>', 'JMAP, /healthz and /metrics over plain HTTP: host:port or off [default: off]')
    .option('--https <addr>', 'JMAP, /healthz and /metrics over HTTPS (the IMAPS certificate): host:port or off [default: off]')
    .option('--tls-cert <file>', 'PEM certificate chain (with --tls-key); default: a generated self-signed one')
    .option('--tls-key <file>', 'PEM private key (with --tls-cert)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent [default: info]')
    .addHelpText(
      'after',
      '\nWhen each listener is ready a line "listening <protocol> <host>:<port>" is printed on stdout.\nSIGTERM or SIGINT stops the server gracefully. Logs are JSON lines on stderr.\nOne server per data directory: a second one exits with status 75 (EX_TEMPFAIL), naming the pid and host that hold it.',
    )
    .action(async (flags: ServeFlags) => {
      if (Boolean(flags.tlsCert) !== Boolean(flags.tlsKey)) {
        throw new UsageError('--tls-cert and --tls-key must be given together');
      }
      let config;
      try {
        config = loadConfig(flags.config, {
          dataDir: flags.dataDir ?? (flags.config ? undefined : process.env.MAILSTEAD_DATA_DIR),
          logLevel: flags.logLevel,
          store: flags.store,
          listeners: { imap: flags.imap, imaps: flags.imaps, pop3: flags.pop3, pop3s: flags.pop3s, lmtp: flags.lmtp, http: flags.http, https: flags.https },
          tls: flags.tlsCert ? { certFile: flags.tlsCert, keyFile: flags.tlsKey } : undefined,
        });
      } catch (err) {
        if (err instanceof ConfigError) throw new UsageError(err.message, EX.CONFIG);
        throw err;
      }
      const log = createLogger(config.logLevel);
      // Handlers go in before the listeners open: a SIGTERM that arrives right after the
      // `listening` lines (as from a supervisor or a test) must still shut down gracefully.
      let node: RunningNode | null = null;
      let stopRequested = false;
      const stop = () => {
        stopRequested = true;
        if (!node) return; // startNode() finishing will see the request
        node.stop().then(
          () => process.exit(0),
          (err) => {
            log.error({ err }, 'error during shutdown');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      try {
        node = await startNode(config, log, { print: (line) => process.stdout.write(`${line}\n`) });
      } catch (err) {
        // Another server runs on this data directory: EX_TEMPFAIL, it may be gone when retried.
        if (err instanceof DataDirLocked) throw new UsageError(err.message, EX.TEMPFAIL);
        throw err;
      }
      if (stopRequested) stop();
      // A bug in one session must not take every user's session down with it.
      process.on('uncaughtException', (err) => log.error({ err }, 'uncaught exception'));
      process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
    });
}
