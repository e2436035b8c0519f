/**
 * SASL PLAIN (RFC 4616): base64( authzid NUL authcid NUL passwd ).
 * Shared by IMAP AUTHENTICATE and POP3 AUTH (RFC 5034).
 */
export interface PlainCredentials {
  /** Authorization identity; empty when the client acts as itself. */
  authzid: string;
  authcid: string;
  password: string;
}

/** Decodes a PLAIN response; returns an error text instead of throwing on malformed input. */
export function decodePlain(base64: string): PlainCredentials | { error: string } {
  const text = base64.trim();
  if (text === '' || text === '=') return { error: 'Empty PLAIN response' };
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) return { error: 'Invalid base64 in PLAIN response' };
  const bytes = Buffer.from(text, 'base64');
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0) {
      parts.push(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  parts.push(bytes.subarray(start));
  if (parts.length !== 3) return { error: 'PLAIN response must be authzid NUL authcid NUL password' };
  const [authzid, authcid, password] = parts.map((p) => p.toString('utf8'));
  if (authcid === '' || password === '') return { error: 'PLAIN response has an empty user name or password' };
  return { authzid, authcid, password };
}

export function encodePlain(authcid: string, password: string, authzid = ''): string {
  return Buffer.from(`${authzid}\0${authcid}\0${password}`, 'utf8').toString('base64');
}
