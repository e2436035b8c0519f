/**
 * Named failures and their exit codes (docs/speedtest.md). Every error the
 * speed test can meet ends as one line and one of these codes, never a stack
 * trace. 64 is the usage code every mailstead command uses (sysexits EX_USAGE).
 */
import { Pop3Error } from '../clients/pop3-client.js';

export type FailureKind = 'usage' | 'unreachable' | 'tls' | 'auth' | 'capability' | 'protocol';

export const EXIT_CODES: Record<FailureKind, number> = {
  usage: 64,
  unreachable: 3,
  tls: 4,
  auth: 5,
  capability: 6,
  protocol: 7,
};

export class SpeedtestError extends Error {
  constructor(
    message: string,
    readonly kind: FailureKind,
  ) {
    super(message);
    this.name = 'SpeedtestError';
  }

  get exitCode(): number {
    return EXIT_CODES[this.kind];
  }
}

const CERT_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS_CERT_ALTNAME/;

/** Classifies a low-level connect/TLS error (from our own sockets). */
export function classifySocketError(err: NodeJS.ErrnoException, where: string): SpeedtestError {
  const code = err.code ?? '';
  if (CERT_CODES.test(code)) return new SpeedtestError(`${where}: bad certificate (${code}); use --insecure to accept a self-signed one`, 'tls');
  if (/SSL|TLS|EPROTO/.test(code) || /TLS|SSL|handshake/i.test(err.message)) {
    return new SpeedtestError(`${where}: TLS refused: ${err.message}`, 'tls');
  }
  return new SpeedtestError(`${where}: host unreachable (${code || err.message})`, 'unreachable');
}

/** Turns whatever a probe threw into a SpeedtestError naming the protocol. */
export function toSpeedtestError(err: unknown, where: string): SpeedtestError {
  if (err instanceof SpeedtestError) return err;
  if (err instanceof Pop3Error) {
    if (err.kind === 'connect' && /^cannot (connect|resolve)/.test(err.message)) {
      return new SpeedtestError(`${where}: host unreachable (${err.message})`, 'unreachable');
    }
    if (err.kind === 'tls' && !/^bad certificate/.test(err.message)) return new SpeedtestError(`${where}: TLS refused (${err.message})`, 'tls');
    if (err.kind === 'capability') return new SpeedtestError(`${where}: capability missing (${err.message})`, 'capability');
    const kind: FailureKind = err.kind === 'auth' ? 'auth' : err.kind === 'tls' ? 'tls' : 'protocol';
    return new SpeedtestError(`${where}: ${oneLine(err.message)}`, kind);
  }
  const e = err as { message?: string; code?: string; authenticationFailed?: boolean; speedtest?: SpeedtestError; responseText?: string };
  if (e?.speedtest instanceof SpeedtestError) return e.speedtest;
  if (e?.authenticationFailed || e?.code === 'AUTHENTICATIONFAILED') {
    return new SpeedtestError(`${where}: authentication failed${e.responseText ? `: ${e.responseText}` : ''}`, 'auth');
  }
  if (e?.code && /^(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|ECONNRESET|EAI_AGAIN|ETIMEDOUT|CONNECT_TIMEOUT|GREETING_TIMEOUT)$/.test(e.code)) {
    return new SpeedtestError(`${where}: host unreachable (${e.code})`, 'unreachable');
  }
  if (e?.code && CERT_CODES.test(e.code)) return classifySocketError(e as NodeJS.ErrnoException, where);
  return new SpeedtestError(`${where}: ${oneLine(e?.responseText ?? e?.message ?? String(err))}`, 'protocol');
}

export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 300);
}
