/**
 * Structured logs (pino, JSON lines on stderr so stdout stays for the
 * `listening ...` lines scripts read). Credentials are redacted by path, and
 * sessions never pass passwords or SASL payloads to a logger at all.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string = process.env.MAILSTEAD_LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      level,
      base: { service: 'mailstead' },
      redact: { paths: ['password', '*.password', 'passwordHash', '*.passwordHash', 'auth', '*.auth'], censor: '[redacted]' },
    },
    pino.destination({ fd: 2, sync: false }),
  );
}

/** A logger that drops everything, for tests and tools. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
