/**
 * SCRAM-SHA-256 server (RFC 7677, RFC 5802) as pure step functions, shared by
 * IMAP AUTHENTICATE and POP3 AUTH:
 *
 *   client-first  -> scramServerFirst()  -> server-first (challenge)
 *   client-final  -> scramServerFinal()  -> server-final "v=..." or an error
 *
 * The server keeps only StoredKey and ServerKey (never the password), so a
 * stolen credential cannot be replayed as a password elsewhere. Channel
 * binding is not offered (no -PLUS mechanism): gs2 flag "n" or "y" is
 * accepted, "p=" refused (RFC 5802 §6). Nonces are passed in, so the steps
 * are deterministic and testable with the RFC 7677 §3 example.
 */
import { createHash, createHmac, pbkdf2, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import { saslPrep } from './saslprep.js';

export const SCRAM_MECHANISM = 'SCRAM-SHA-256';
/** RFC 7677 §4: at least 4096 iterations. */
export const SCRAM_MIN_ITERATIONS = 4096;

export interface ScramCredentials {
  iterations: number;
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

/** What the server remembers between the two steps. */
export interface ScramExchange {
  /** Authentication identity from "n=", decoded (=2C, =3D). */
  username: string;
  /** Authorization identity from "a=", or '' when absent. */
  authzid: string;
  gs2Header: string;
  clientFirstBare: string;
  serverFirst: string;
  /** client nonce + server nonce. */
  nonce: string;
}

export type ScramResult<T> = T | { error: string };

const hmac = (key: Buffer, data: string | Buffer) => createHmac('sha256', key).update(data).digest();
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();

/** Password to SaltedPassword (RFC 5802 §3: Hi() is PBKDF2 with HMAC-SHA-256). */
function preparedPassword(password: string): string {
  // A password SASLprep refuses is used as typed: the client then cannot match it, which is all we can do.
  return saslPrep(password) ?? password;
}

export function credentialsFromSaltedPassword(salted: Buffer, salt: Buffer, iterations: number): ScramCredentials {
  const clientKey = hmac(salted, 'Client Key');
  return { iterations, salt, storedKey: sha256(clientKey), serverKey: hmac(salted, 'Server Key') };
}

export function deriveScramCredentialsSync(password: string, salt: Buffer, iterations: number): ScramCredentials {
  const salted = pbkdf2Sync(preparedPassword(password), salt, iterations, 32, 'sha256');
  return credentialsFromSaltedPassword(salted, salt, iterations);
}

export function deriveScramCredentials(password: string, salt: Buffer, iterations: number): Promise<ScramCredentials> {
  return new Promise((resolve, reject) => {
    pbkdf2(preparedPassword(password), salt, iterations, 32, 'sha256', (err, salted) =>
      err ? reject(err) : resolve(credentialsFromSaltedPassword(salted, salt, iterations)),
    );
  });
}

/** saslname: "," and "=" travel as =2C and =3D; any other "=" is malformed (RFC 5802 §5.1). */
function decodeSaslName(value: string): string | null {
  if (/=(?!2C|3D)/.test(value)) return null;
  return value.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

function decodeBase64(text: string): string | null {
  const t = text.trim();
  if (t === '=' ) return '';
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t) || t.length % 4 !== 0) return null;
  return Buffer.from(t, 'base64').toString('utf8');
}

/** printable = %x21-2B / %x2D-7E: a nonce has no comma (RFC 5802 §7). */
const NONCE = /^[\x21-\x2b\x2d-\x7e]+$/;

/**
 * Step 1: parse the client-first message (base64 as sent on the wire) and
 * produce the server-first message. `serverNonce` must be fresh and random.
 */
export function scramServerFirst(
  clientFirstBase64: string,
  serverNonce: string,
  credentials: Pick<ScramCredentials, 'salt' | 'iterations'>,
): ScramResult<{ exchange: ScramExchange; challenge: string }> {
  const message = decodeBase64(clientFirstBase64);
  if (message === null) return { error: 'Invalid base64 in SCRAM client-first message' };
  const m = /^([nyp])(=[^,]*)?,(a=[^,]*)?,(.*)$/s.exec(message);
  if (!m) return { error: 'Malformed SCRAM client-first message' };
  if (m[1] === 'p') return { error: 'Channel binding is not supported; use SCRAM-SHA-256' };
  if (m[2] !== undefined) return { error: 'Malformed SCRAM GS2 header' };
  const authzid = m[3] ? decodeSaslName(m[3].slice(2)) : '';
  if (authzid === null) return { error: 'Malformed SCRAM authorization identity' };
  const gs2Header = message.slice(0, message.length - m[4].length);
  const clientFirstBare = m[4];
  const attrs = clientFirstBare.split(',');
  // RFC 5802 §5.1: a mandatory extension ("m=") we do not know must fail the exchange.
  if (attrs[0]?.startsWith('m=')) return { error: 'Unsupported SCRAM extension' };
  if (!attrs[0]?.startsWith('n=') || !attrs[1]?.startsWith('r=')) return { error: 'Malformed SCRAM client-first message' };
  const username = decodeSaslName(attrs[0].slice(2));
  if (username === null || username === '') return { error: 'Malformed SCRAM user name' };
  const clientNonce = attrs[1].slice(2);
  if (!NONCE.test(clientNonce) || !NONCE.test(serverNonce)) return { error: 'Malformed SCRAM nonce' };
  const nonce = clientNonce + serverNonce;
  const serverFirst = `r=${nonce},s=${credentials.salt.toString('base64')},i=${credentials.iterations}`;
  return {
    exchange: { username, authzid, gs2Header, clientFirstBare, serverFirst, nonce },
    challenge: Buffer.from(serverFirst, 'utf8').toString('base64'),
  };
}

/**
 * Step 2: check the client-final message (base64) against the stored keys.
 * Success gives the server-final message (base64 of "v=ServerSignature"),
 * which the client uses to authenticate the server.
 */
export function scramServerFinal(
  exchange: ScramExchange,
  clientFinalBase64: string,
  credentials: ScramCredentials,
): ScramResult<{ serverFinal: string }> {
  const message = decodeBase64(clientFinalBase64);
  if (message === null) return { error: 'Invalid base64 in SCRAM client-final message' };
  const proofAt = message.lastIndexOf(',p=');
  if (proofAt < 0) return { error: 'Malformed SCRAM client-final message' };
  const withoutProof = message.slice(0, proofAt);
  const attrs = withoutProof.split(',');
  if (!attrs[0]?.startsWith('c=') || !attrs[1]?.startsWith('r=')) return { error: 'Malformed SCRAM client-final message' };
  const binding = Buffer.from(attrs[0].slice(2), 'base64').toString('utf8');
  if (binding !== exchange.gs2Header) return { error: 'SCRAM channel binding does not match' };
  if (attrs[1].slice(2) !== exchange.nonce) return { error: 'SCRAM nonce does not match' };
  const proof = Buffer.from(message.slice(proofAt + 3), 'base64');
  const authMessage = `${exchange.clientFirstBare},${exchange.serverFirst},${withoutProof}`;
  const clientSignature = hmac(credentials.storedKey, authMessage);
  if (proof.length !== clientSignature.length) return { error: 'authentication failed' };
  const clientKey = Buffer.alloc(proof.length);
  for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i] ^ clientSignature[i];
  if (!timingSafeEqual(sha256(clientKey), credentials.storedKey)) return { error: 'authentication failed' };
  const serverSignature = hmac(credentials.serverKey, authMessage);
  return { serverFinal: Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8').toString('base64') };
}

/**
 * Credentials for a user that does not exist (or has no SCRAM keys): a salt
 * derived from the name, so repeated probes see a stable salt and cannot tell
 * the account apart from a real one; the keys match no password.
 */
export function decoyCredentials(username: string, secret: Buffer, iterations = SCRAM_MIN_ITERATIONS): ScramCredentials {
  const salt = hmac(secret, `salt:${username}`).subarray(0, 16);
  // The iteration count new keys get: an unknown name must not stand out by an old count.
  return { iterations, salt, storedKey: hmac(secret, `stored:${username}`), serverKey: hmac(secret, 'server') };
}
