/**
 * CAPABILITY lists by state. Only what is implemented is announced.
 * Before TLS on a plain port: STARTTLS and LOGINDISABLED (RFC 9051 §6.2.3,
 * §7.2.2); once authentication is possible: AUTH=PLAIN and SASL-IR (RFC 4959).
 */
export const BASE_CAPABILITIES = ['IMAP4rev2', 'IMAP4rev1'];

/** After authentication. */
export const SESSION_CAPABILITIES = [
  ...BASE_CAPABILITIES,
  'LITERAL+',
  'ENABLE',
  'IDLE',
  'NAMESPACE',
  'ID',
  'UIDPLUS',
  'MOVE',
  'UNSELECT',
  'CHILDREN',
  'SPECIAL-USE',
  'CREATE-SPECIAL-USE',
  'LIST-EXTENDED',
  'LIST-STATUS',
  'MULTIAPPEND',
  'ESEARCH',
  'UTF8=ACCEPT',
  'STATUS=SIZE',
];

/** Extensions ENABLE turns on (RFC 5161); everything else is ignored as the RFC asks. */
export const ENABLEABLE = ['IMAP4rev2', 'UTF8=ACCEPT'];

export function preAuthCapabilities(opts: { secure: boolean; tlsAvailable: boolean; authAllowed: boolean }): string[] {
  const caps = [...BASE_CAPABILITIES, 'LITERAL+', 'ENABLE', 'ID'];
  if (!opts.secure && opts.tlsAvailable) caps.push('STARTTLS');
  if (opts.authAllowed) caps.push('AUTH=PLAIN', 'SASL-IR');
  else caps.push('LOGINDISABLED');
  return caps;
}
