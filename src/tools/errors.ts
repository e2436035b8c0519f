/**
 * Named failures of the client tools (speedtest, archive, import), each one
 * line and one exit code, never a stack trace. The codes are shared so that
 * scripts can treat every mailstead client tool alike (docs/speedtest.md,
 * docs/archive.md): 1 means "ran, but some messages failed", 64 is sysexits
 * EX_USAGE as for every mailstead command.
 */
import { Pop3Error } from './clients/pop3-client.js';

export type ToolFailureKind = 'usage' | 'unreachable' | 'tls' | 'auth' | 'capability' | 'protocol' | 'local';

export const TOOL_EXIT_CODES: Record<ToolFailureKind, number> = {
  usage: 64,
  unreachable: 3,
  tls: 4,
  auth: 5,
  capability: 6,
  protocol: 7,
  local: 8,
};

/** Exit code when the run finished but some messages failed or verify found problems. */
export const EXIT_INCOMPLETE = 1;

export class ToolError extends Error {
  constructor(
    message: string,
    readonly kind: ToolFailureKind,
  ) {
    super(message);
    this.name = 'ToolError';
  }

  get exitCode(): number {
    return TOOL_EXIT_CODES[this.kind];
  }
}

const CERT_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS_CERT_ALTNAME/;
const NET_CODES =
  /^(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|ECONNRESET|EAI_AGAIN|ETIMEDOUT|EPIPE|CONNECT_TIMEOUT|GREETING_TIMEOUT|NoConnection|EConnectionClosed)$/;

/** Classifies a low-level connect/TLS error from our own sockets. */
export function classifySocketError(err: NodeJS.ErrnoException, where: string): ToolError {
  const code = err.code ?? '';
  if (CERT_CODES.test(code)) {
    return new ToolError(`${where}: bad certificate (${code}); use --ca FILE or --insecure for a self-signed one`, 'tls');
  }
  if (/SSL|TLS|EPROTO/.test(code) || /TLS|SSL|handshake/i.test(err.message)) {
    return new ToolError(`${where}: TLS refused: ${oneLine(err.message)}`, 'tls');
  }
  return new ToolError(`${where}: host unreachable (${code || oneLine(err.message)})`, 'unreachable');
}

/** Turns whatever a POP3 or IMAP client threw into a ToolError that names the server. */
export function toToolError(err: unknown, where: string): ToolError {
  if (err instanceof ToolError) return err;
  if (err instanceof Pop3Error) {
    // Only a failure to reach the server is "unreachable"; a connection dropped mid-session is a protocol failure.
    if (err.kind === 'timeout' || (err.kind === 'connect' && /^cannot (connect|resolve)/.test(err.message))) {
      return new ToolError(`${where}: host unreachable (${oneLine(err.message)})`, 'unreachable');
    }
    if (err.kind === 'tls' && !/^bad certificate/.test(err.message)) {
      return new ToolError(`${where}: TLS refused (${oneLine(err.message)})`, 'tls');
    }
    if (err.kind === 'capability') return new ToolError(`${where}: capability missing (${oneLine(err.message)})`, 'capability');
    const kind: ToolFailureKind = err.kind === 'auth' ? 'auth' : err.kind === 'tls' ? 'tls' : 'protocol';
    return new ToolError(`${where}: ${oneLine(err.message)}`, kind);
  }
  const e = err as {
    message?: string;
    code?: string;
    authenticationFailed?: boolean;
    responseText?: string;
  };
  if (e?.authenticationFailed || e?.code === 'AUTHENTICATIONFAILED') {
    return new ToolError(`${where}: authentication failed${e.responseText ? `: ${oneLine(e.responseText)}` : ''}`, 'auth');
  }
  if (e?.code && CERT_CODES.test(e.code)) return classifySocketError(e as NodeJS.ErrnoException, where);
  if (e?.code && NET_CODES.test(e.code)) return new ToolError(`${where}: host unreachable (${e.code})`, 'unreachable');
  if (e?.code && /SSL|TLS|EPROTO/.test(e.code)) return new ToolError(`${where}: TLS refused: ${oneLine(e.message ?? '')}`, 'tls');
  return new ToolError(`${where}: ${oneLine(e?.responseText ?? e?.message ?? String(err))}`, 'protocol');
}

export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 300);
}
