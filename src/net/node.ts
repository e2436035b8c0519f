/**
 * Wires one Mailstead node from its configuration: store, bus, domain, TLS,
 * and the five listeners; and takes it down gracefully.
 */
import { hostname as osHostname } from 'node:os';
import type { Server } from 'node:net';
import { type MailsteadConfig, PROTOCOLS, type Protocol, parseListenAddress, WEB_PROTOCOLS } from '../config/schema.js';
import { LoginThrottle, type LoginThrottleSettings } from '../domain/login-throttle.js';
import { CredentialChecker } from '../domain/credential-cache.js';
import { MailDomain } from '../domain/mail-domain.js';
import { startRetentionTimer } from '../domain/retention.js';
import { generatePassword, type PasswordSettings } from '../domain/passwords.js';
import { Summarizer } from '../domain/summarizer.js';
import { createImapSession } from '../imap/session.js';
import type { LmtpServer } from '../lmtp/server.js';
import { LocalBus } from '../notify/bus.js';
import { listenForSignals } from '../notify/process-bridge.js';
import type { Logger } from '../observability/log.js';
import { collectProcessMetrics, countedBus, timedStore } from '../observability/metrics.js';
import { createPop3Session } from '../pop3/session.js';
import { openDataDir } from './data-dir.js';
import type { NotifyBus } from '../notify/bus.js';
import { StoreError } from '../store/types.js';
import { type DataDirLock, lockDataDir } from './data-dir-lock.js';
import { closeServer, ConnectionTracker, type RunningListener, startSessionListener } from './listeners.js';
import { loadOrCreateTls, serverTlsOf } from './tls.js';
import { type RunningWebListener, startWebListener } from '../web/server.js';
import { majorGc, MemoryRelease } from './memory-release.js';

/** How often the session count is sampled, and the drop (in sessions) after which memory is given back. */
const MEMORY_RELEASE_SAMPLE_MS = 5_000;
const MEMORY_RELEASE_MIN_DROP = 500;

export interface RunningNode {
  domain: MailDomain;
  listeners: Array<{ protocol: Protocol; host: string; port: number }>;
  /** SIGTERM: stop accepting, say BYE to IMAP sessions, finish deliveries in flight, close the store. */
  stop(): Promise<void>;
}

export interface NodeOutput {
  /** Lines meant for the operator and for scripts (`listening imap 127.0.0.1:143`). */
  print(line: string): void;
}


async function loadPostgres() {
  const [{ PgNotifyBus }, { openPostgresStore }, { PgMaildropLocks }] = await Promise.all([
    import('../notify/pg-bus.js'),
    import('../store/postgres/index.js'),
    import('../store/postgres/maildrop-locks.js'),
  ]);
  return { PgNotifyBus, openPostgresStore, PgMaildropLocks };
}

/**
 * Starts a node on its data directory, which it locks first: a second server on the same
 * directory fails here with DataDirLocked before it touches the store or `notify.sock`.
 */
export async function startNode(config: MailsteadConfig, log: Logger, out: NodeOutput): Promise<RunningNode> {
  // A PostgreSQL store is shared by every node: the data directory then holds only this node's
  // files (TLS), and no lock on it says anything about the store.
  const lock: DataDirLock = config.store ? { release() {} } : lockDataDir(config.dataDir);
  try {
    return await startLockedNode(config, log, out, lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function startLockedNode(config: MailsteadConfig, log: Logger, out: NodeOutput, lock: DataDirLock): Promise<RunningNode> {
  const hostname = config.hostname ?? osHostname();
  // The PostgreSQL modules (and the pg driver, ~15 MB) are loaded only by a node that uses them.
  const postgres = config.store ? await loadPostgres() : null;
  // Every store call is timed for /metrics (observability/metrics.ts).
  const store = timedStore(config.store ? await postgres!.openPostgresStore(config.store) : await openDataDir(config.dataDir));
  collectProcessMetrics();
  // Startup recovery: whatever a crash left half-done goes before the first client comes in.
  const recovered = await store.recover();
  if (recovered.orphanBlobs > 0 || recovered.repairedReferenceCounts > 0) log.warn(recovered, 'startup recovery repaired the store');
  // Several nodes: signals and the POP3 maildrop lock go through PostgreSQL (LISTEN/NOTIFY, advisory locks).
  let bus: NotifyBus;
  try {
    bus = countedBus(config.store ? await postgres!.PgNotifyBus.open({ url: config.store, log: log.child({ component: 'bus' }) }) : new LocalBus());
  } catch (err) {
    await store.close();
    throw err;
  }
  const maildropLocks = config.store ? new postgres!.PgMaildropLocks(config.store, undefined) : undefined;
  // Summaries of large messages are computed on worker threads, so no session waits for a hostile one (issue 9).
  const summarizer = new Summarizer({
    onFailure: (reason, octets) => log.warn({ reason, octets }, 'message summary failed: stored with a minimal summary'),
  });
  const domain = new MailDomain(store, bus, {
    summaryOf: summarizer.summaryOf,
    summaryOfBody: summarizer.summaryOfBody,
    passwords: passwordSettingsOf(config),
    loginThrottle: new LoginThrottle(loginThrottleSettingsOf(config)),
    credentialChecker: new CredentialChecker({
      cacheSeconds: config.auth.credentialCacheSeconds,
      cacheMaxEntries: config.auth.credentialCacheEntries,
      maxConcurrentVerifications: config.auth.maxConcurrentVerifications,
      maxQueuedVerifications: config.auth.maxQueuedVerifications,
    }),
    maildropLocks,
  });
  if (!config.auth.scram) {
    // docs/security.md: with SCRAM off, no SCRAM key stays in the store (a stolen copy holds only scrypt hashes).
    const removed = await domain.removeScramCredentials();
    if (removed > 0) log.info({ accounts: removed }, 'SCRAM-SHA-256 is off: removed the stored SCRAM keys');
  }

  if ((await store.listAccounts()).length === 0) {
    const password = generatePassword();
    // Another node of a cluster may create it at the same moment: then it is that node's to print.
    const created = await domain.createAccount(config.initialAccount, password).then(
      () => true,
      (err: unknown) => {
        if (config.store && err instanceof StoreError && err.code === 'STORE_ACCOUNT_EXISTS') return false;
        throw err;
      },
    );
    if (created) {
      // Printed once, to the operator's terminal only; never logged.
      out.print(`created account ${config.initialAccount} with password ${password}`);
      out.print('(this password is shown only once; change it with: mailstead user passwd ADDRESS --password-stdin)');
    }
  }

  const tls = await loadOrCreateTls({
    certFile: config.tls.certFile,
    keyFile: config.tls.keyFile,
    dataDir: config.dataDir,
    hostname,
    log,
  });
  const serverTls = serverTlsOf(tls, config.tls.minVersion);
  const tracker = new ConnectionTracker(config.limits);
  const common = {
    domain,
    hostname,
    allowCleartextAuthFromLoopback: config.tls.allowCleartextAuthFromLoopback,
    authFailureDelayMs: config.authFailureDelayMs,
    scram: config.auth.scram,
    unauthenticatedTimeoutMs: config.unauthenticatedTimeoutSeconds * 1000,
  };
  const imapContext = (tlsAvailable: boolean) => ({
    ...common,
    log: log.child({ protocol: 'imap' }),
    tlsAvailable,
    idleKeepaliveMs: config.imap.idleKeepaliveSeconds * 1000,
    authenticatedTimeoutMs: config.imap.authenticatedTimeoutSeconds * 1000,
    maxMessageBytes: config.limits.maxMessageBytes,
  });
  const pop3Context = (tlsAvailable: boolean) => ({
    ...common,
    log: log.child({ protocol: 'pop3' }),
    tlsAvailable,
    idleTimeoutMs: config.pop3.timeoutSeconds * 1000,
  });

  const sessionListeners: RunningListener[] = [];
  const webListeners: RunningWebListener[] = [];
  let lmtp: LmtpServer | null = null;
  const bound: RunningNode['listeners'] = [];
  const announce = (protocol: Protocol, host: string, port: number) => {
    bound.push({ protocol, host, port });
    const shownHost = host.includes(':') ? `[${host}]` : host;
    out.print(`listening ${protocol} ${shownHost}:${port}`);
    log.info({ protocol, host, port }, 'listening');
  };
  // With PostgreSQL the commands (deliver, user) reach every node through NOTIFY instead.
  const signalServer: Server | null = config.store ? null : await listenForSignals(config.dataDir, bus, log);

  try {
    for (const protocol of PROTOCOLS) {
      const value = config.listeners[protocol];
      if (value === 'off') continue;
      const address = parseListenAddress(value)!;
      let port: number;
      if (protocol === 'lmtp') {
        // smtp-server (~5 MB with its dependencies) is loaded only by a node that listens for LMTP.
        const { createLmtpServer } = await import('../lmtp/server.js');
        lmtp = createLmtpServer({
          domain,
          log: log.child({ protocol: 'lmtp' }),
          hostname,
          maxMessageBytes: config.limits.maxMessageBytes,
          maxClients: config.limits.maxConnections,
        });
        port = await listenLmtp(lmtp, address.host, address.port);
      } else {
        const implicit = protocol === 'imaps' || protocol === 'pop3s';
        const isImap = protocol === 'imap' || protocol === 'imaps';
        const imapCtx = imapContext(!implicit);
        const pop3Ctx = pop3Context(!implicit);
        const listener = await startSessionListener({
          name: protocol,
          address,
          implicitTls: implicit ? serverTls : null,
          startTlsContext: implicit ? null : serverTls.context,
          factory: isImap ? (c) => createImapSession(c, imapCtx) : (c) => createPop3Session(c, pop3Ctx),
          refusalLine: isImap ? '* BYE Too many connections\r\n' : '-ERR [SYS/TEMP] Too many connections\r\n',
          tracker,
          log,
          // A TLS client that never finishes its handshake is an unauthenticated connection too.
          handshakeTimeoutMs: Math.min(30_000, config.unauthenticatedTimeoutSeconds * 1000),
        });
        sessionListeners.push(listener);
        port = listener.address.port;
      }
      announce(protocol, address.host, port);
    }
    for (const protocol of WEB_PROTOCOLS) {
      const value = config.listeners[protocol];
      if (value === 'off') continue;
      const web = await startWebListener({
        name: protocol,
        address: parseListenAddress(value)!,
        tls: protocol === 'https' ? serverTls.options : null,
        domain,
        settings: {
          ...config.http,
          maxMessageBytes: config.limits.maxMessageBytes,
          allowCleartextAuthFromLoopback: config.tls.allowCleartextAuthFromLoopback,
          authFailureDelayMs: config.authFailureDelayMs,
        },
        admit: (ip) => tracker.tryAcquire(ip),
        log,
      });
      webListeners.push(web);
      announce(protocol, web.address.host, web.address.port);
    }
  } catch (err) {
    signalServer?.close();
    await Promise.all(webListeners.map((w) => w.close()));
    await Promise.all(sessionListeners.map((l) => closeServer(l.server)));
    await lmtp?.close();
    await summarizer.close();
    await bus.close();
    await maildropLocks?.close();
    await store.close();
    throw err;
  }

  const retention = startRetentionTimer(domain, log.child({ job: 'retention' })); // POP3 EXPIRE (issue 5)
  const memoryRelease = startMemoryRelease(tracker, log);
  let stopping: Promise<void> | null = null;
  return {
    domain,
    listeners: bound,
    stop() {
      stopping ??= (async () => {
        log.info('shutting down');
        const closing = [...sessionListeners.map((l) => closeServer(l.server)), ...webListeners.map((w) => w.close())];
        signalServer?.close();
        await Promise.allSettled([...tracker.sessions].map((s) => s.shutdown()));
        await lmtp?.close();
        await Promise.all(closing);
        await retention.stop();
        clearInterval(memoryRelease);
        await bus.close();
        await maildropLocks?.close();
        await summarizer.close();
        await store.close();
        lock.release();
        log.info('stopped');
      })();
      return stopping;
    },
  };
}

/** Samples the session count every few seconds and gives memory back after a burst (memory-release.ts). */
function startMemoryRelease(tracker: ConnectionTracker, log: Logger): NodeJS.Timeout | undefined {
  const gc = majorGc();
  if (!gc) return undefined;
  const release = new MemoryRelease({
    minDrop: MEMORY_RELEASE_MIN_DROP,
    gc: () => {
      const t0 = performance.now();
      gc();
      log.debug({ ms: Math.round(performance.now() - t0), sessions: tracker.count }, 'memory released after a drop in sessions');
    },
  });
  return setInterval(() => release.sample(tracker.count), MEMORY_RELEASE_SAMPLE_MS).unref();
}

/** `[auth]` as the domain's password settings (`mailstead user add|passwd --config` reads the same keys). */
function passwordSettingsOf(config: MailsteadConfig): PasswordSettings {
  return { scram: config.auth.scram, scramIterations: config.auth.scramIterations };
}

/** The throttle's settings: `authFailureDelayMs` is its base delay, the rest is `[auth]`. */
function loginThrottleSettingsOf(config: MailsteadConfig): LoginThrottleSettings {
  const a = config.auth;
  return {
    baseDelayMs: config.authFailureDelayMs,
    maxDelayMs: Math.max(config.authFailureDelayMs, a.maxFailureDelayMs),
    sourceBlockAfterFailures: a.sourceBlockAfterFailures,
    accountBlockAfterFailures: a.accountBlockAfterFailures,
    blockSeconds: a.blockSeconds,
    failureWindowSeconds: a.failureWindowSeconds,
    maxTrackedEntries: a.maxTrackedEntries,
  };
}

function listenLmtp(lmtp: LmtpServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    lmtp.server.server.once('error', onError);
    lmtp.server.listen(port, host, () => {
      lmtp.server.server.off('error', onError);
      const addr = lmtp.server.server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}
