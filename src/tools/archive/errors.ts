/**
 * Named failures of the archive and import tools, each one line and one exit
 * code (docs/archive.md). The codes match the speed test's, so scripts can
 * treat every mailstead client tool alike; 1 means "ran, but some messages
 * failed" (listed in the report), 64 is sysexits EX_USAGE.
 */
import { Pop3Error } from '../clients/pop3-client.js';

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
const NET_CODES = /^(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|ECONNRESET|EAI_AGAIN|ETIMEDOUT|EPIPE|CONNECT_TIMEOUT|GREETING_TIMEOUT|NoConnection|EConnectionClosed)$/;

/** Turns what a POP3 or IMAP client threw into a ToolError that names the server. */
export function toToolError(err: unknown, where: string): ToolError {
  if (err instanceof ToolError) return err;
  if (err instanceof Pop3Error) {
    const kind: ToolFailureKind =
      err.kind === 'auth' ? 'auth' : err.kind === 'connect' || err.kind === 'timeout' ? 'unreachable' : err.kind === 'tls' ? 'tls' : err.kind === 'capability' ? 'capability' : 'protocol';
    return new ToolError(`${where}: ${err.message}`, kind);
  }
  const e = err as { message?: string; code?: string; authenticationFailed?: boolean; responseText?: string };
  if (e?.authenticationFailed || e?.code === 'AUTHENTICATIONFAILED') {
    return new ToolError(`${where}: authentication failed${e.responseText ? `: ${oneLine(e.responseText)}` : ''}`, 'auth');
  }
  if (e?.code && CERT_CODES.test(e.code)) {
    return new ToolError(`${where}: bad certificate (${e.code}); use --ca FILE or --insecure for a self-signed one`, 'tls');
  }
  if (e?.code && NET_CODES.test(e.code)) return new ToolError(`${where}: host unreachable (${e.code})`, 'unreachable');
  if (e?.code && /SSL|TLS|EPROTO/.test(e.code)) return new ToolError(`${where}: TLS refused: ${oneLine(e.message ?? '')}`, 'tls');
  return new ToolError(`${where}: ${oneLine(e?.responseText ?? e?.message ?? String(err))}`, 'protocol');
}

export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 300);
}
