/**
 * The one validated configuration schema. Every setting has a default, a unit
 * in its name, and a one-line reason. Files are JSON or TOML with these keys;
 * an unknown or malformed key is an error naming the key.
 */
import { z } from 'zod';
import { limits } from '../protocol/limits.js';

/** `host:port`, `[v6]:port`, or `off`. */
const listenAddress = z
  .string()
  .refine((v) => v === 'off' || parseListenAddress(v) !== null, {
    message: 'expected "host:port" (e.g. "127.0.0.1:993", "[::1]:993") or "off"',
  });

export const configSchema = z
  .object({
    /** Where the SQLite store, the generated certificate and the notify socket live. */
    dataDir: z.string().min(1).default('./data'),
    /**
     * The mail store: absent for SQLite in dataDir; "postgres://USER@HOST:PORT/DB" for PostgreSQL,
     * shared by every node of a cluster (password from PGPASSWORD or the URL; dataDir then holds only TLS files).
     */
    store: z
      .string()
      .regex(/^postgres(ql)?:\/\/\S+$/i, { message: 'expected a PostgreSQL URL: "postgres://USER@HOST:PORT/DB"' })
      .optional(),
    /** Name in greetings; defaults to the machine's host name. */
    hostname: z.string().min(1).optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    listeners: z
      .object({
        imap: listenAddress.default('127.0.0.1:143'),
        imaps: listenAddress.default('127.0.0.1:993'),
        pop3: listenAddress.default('127.0.0.1:110'),
        pop3s: listenAddress.default('127.0.0.1:995'),
        lmtp: listenAddress.default('127.0.0.1:24'),
        /** JMAP, /healthz and /metrics without TLS (behind a TLS-terminating proxy, or loopback): off unless asked for. */
        http: listenAddress.default('off'),
        /** JMAP, /healthz and /metrics over TLS with the IMAPS certificate: off unless asked for (an upgrade opens no new port). */
        https: listenAddress.default('off'),
      })
      .strict()
      .default({
        imap: '127.0.0.1:143',
        imaps: '127.0.0.1:993',
        pop3: '127.0.0.1:110',
        pop3s: '127.0.0.1:995',
        lmtp: '127.0.0.1:24',
        http: 'off',
        https: 'off',
      }),
    /** The HTTP listeners (docs/jmap.md). */
    http: z
      .object({
        /** RFC 8620 maxSizeRequest: the largest JMAP API request body; 10 MB holds 500-object calls with room. */
        maxRequestBytes: z.number().int().min(1024).max(1_000_000_000).default(10_000_000),
        /** Request headers must arrive within this: a slow-loris client is cut off. */
        headersTimeoutSeconds: z.number().int().min(1).max(600).default(30),
        /** The whole request (headers and body) must arrive within this; an upload of the largest message over a slow link fits. */
        requestTimeoutSeconds: z.number().int().min(1).max(3600).default(300),
        /** An idle keep-alive connection is closed after this. */
        keepAliveSeconds: z.number().int().min(1).max(600).default(60),
        /** A JMAP bearer token (POST /jmap/token) is valid this long; changing the password revokes it sooner. */
        tokenLifetimeSeconds: z.number().int().min(60).max(30 * 86_400).default(86_400),
        /** /metrics answers loopback clients; others must send "Authorization: Bearer <this>". Absent: loopback only. */
        metricsToken: z.string().min(16).optional(),
      })
      .strict()
      .default({ maxRequestBytes: 10_000_000, headersTimeoutSeconds: 30, requestTimeoutSeconds: 300, keepAliveSeconds: 60, tokenLifetimeSeconds: 86_400 }),
    tls: z
      .object({
        /** PEM certificate chain and key; when absent a self-signed pair is generated in dataDir/tls. */
        certFile: z.string().optional(),
        keyFile: z.string().optional(),
        /** RFC 8314 / RFC 8996: nothing older than TLS 1.2. */
        minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
        /** Off by default: passwords never cross the network in cleartext. On allows it from loopback only. */
        allowCleartextAuthFromLoopback: z.boolean().default(false),
      })
      .strict()
      .default({ minVersion: 'TLSv1.2', allowCleartextAuthFromLoopback: false }),
    imap: z
      .object({
        /** Carrier NAT drops idle TCP flows after a few minutes; an untagged OK keeps push alive. */
        idleKeepaliveSeconds: z.number().int().min(1).max(1800).default(120),
        /** RFC 9051 §5.4: an authenticated session's autologout timer is at least 30 minutes. */
        authenticatedTimeoutSeconds: z.number().int().min(1800).default(1800),
      })
      .strict()
      .default({ idleKeepaliveSeconds: 120, authenticatedTimeoutSeconds: 1800 }),
    pop3: z
      .object({
        /** RFC 1939 §3: the autologout timer is at least 10 minutes. */
        timeoutSeconds: z.number().int().min(600).default(600),
      })
      .strict()
      .default({ timeoutSeconds: 600 }),
    /** Connections that have not logged in are closed after this long idle (a minute is plenty for a real client), and after 3x this however busy. */
    unauthenticatedTimeoutSeconds: z.number().int().min(1).max(600).default(60),
    /** Slows password guessing: the answer to a failed login waits this long (Dovecot waits 2 s). */
    authFailureDelayMs: z.number().int().min(0).max(60000).default(2000),
    /** Passwords and login throttling; docs/security.md gives the reasons for each default. */
    auth: z
      .object({
        /** SCRAM-SHA-256 keys beside the scrypt hash; false stores only the memory-hard hash and stops offering SCRAM. */
        scram: z.boolean().default(true),
        /** PBKDF2 iterations of new SCRAM keys: 65,536 is the most Cyrus SASL clients (mbsync…) compute (RFC 7677: >= 4096; docs/security.md). */
        scramIterations: z.number().int().min(4096).max(10_000_000).default(65_536),
        /** The failure delay (authFailureDelayMs, doubling per failure of a source or account) stops growing here. */
        maxFailureDelayMs: z.number().int().min(0).max(300_000).default(30_000),
        /** An address (IPv6: its /64) is refused for blockSeconds after this many failures: a guesser, not a typo. */
        sourceBlockAfterFailures: z.number().int().min(1).default(10),
        /** After this many failures on one account, sources that failed on it are refused for it; clean sources still get in. */
        accountBlockAfterFailures: z.number().int().min(1).default(30),
        /** How long a block lasts: long enough to make guessing useless, short enough for a NATed office to recover. */
        blockSeconds: z.number().int().min(1).max(86_400).default(900),
        /** Failures are forgotten this long after the last one. */
        failureWindowSeconds: z.number().int().min(1).max(86_400).default(900),
        /** Entries per throttle table (addresses, accounts, pairs); the oldest go first, so memory stays bounded. */
        maxTrackedEntries: z.number().int().min(100).max(1_000_000).default(10_000),
        /** A verified password is trusted this long without scrypt (Dovecot's auth cache); 0 turns the cache off. */
        credentialCacheSeconds: z.number().int().min(0).max(86_400).default(300),
        /** Accounts the credential cache holds; the least recently used go first, so memory stays bounded. */
        credentialCacheEntries: z.number().int().min(1).max(1_000_000).default(10_000),
        /** scrypt verifications at once; 0: the libuv pool size minus one, at most the cores (a storm leaves a thread for file I/O). */
        maxConcurrentVerifications: z.number().int().min(0).max(256).default(0),
        /** Logins waiting for a verification beyond those; more get a temporary failure (about 25 s of scrypt work at 2 at once). */
        maxQueuedVerifications: z.number().int().min(0).max(100_000).default(500),
      })
      .strict()
      .default({
        scram: true,
        scramIterations: 65_536,
        maxFailureDelayMs: 30_000,
        sourceBlockAfterFailures: 10,
        accountBlockAfterFailures: 30,
        blockSeconds: 900,
        failureWindowSeconds: 900,
        maxTrackedEntries: 10_000,
        credentialCacheSeconds: 300,
        credentialCacheEntries: 10_000,
        maxConcurrentVerifications: 0,
        maxQueuedVerifications: 500,
      }),
    limits: z
      .object({
        /** Largest message accepted by LMTP, deliver and APPEND. */
        maxMessageBytes: z.number().int().min(1024).default(limits.maxMessageBytes),
        /** All connections of all protocols together: protects memory and file descriptors. */
        maxConnections: z.number().int().min(1).default(5000),
        /** One address cannot take all connections (a NATed office needs more than one per user). */
        maxConnectionsPerIp: z.number().int().min(1).default(100),
      })
      .strict()
      .default({ maxMessageBytes: limits.maxMessageBytes, maxConnections: 5000, maxConnectionsPerIp: 100 }),
    /** Account created on first start when the store has none; its password is printed once. */
    initialAccount: z.string().default('admin@localhost'),
  })
  .strict();

export type MailsteadConfig = z.infer<typeof configSchema>;
export type Protocol = keyof MailsteadConfig['listeners'];
export const PROTOCOLS: Protocol[] = ['imap', 'imaps', 'pop3', 'pop3s', 'lmtp'];
/** The HTTP listeners, started after the mail listeners (src/web/). */
export const WEB_PROTOCOLS = ['http', 'https'] as const satisfies readonly Protocol[];

export interface ListenAddress {
  host: string;
  port: number;
}

export function parseListenAddress(value: string): ListenAddress | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(value);
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  return { host: m[1] ?? m[2], port };
}
