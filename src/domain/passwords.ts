/**
 * Password hashing with scrypt (node:crypto), stored in a self-describing
 * PHC-like string so parameters can be raised later without breaking old hashes:
 *   $scrypt$ln=15,r=8,p=1$<salt b64>$<hash b64>
 *
 * Since SCRAM-SHA-256 (RFC 7677) the stored credential is that string, a
 * space, and the SCRAM keys (RFC 5802 §3: StoredKey and ServerKey, never the
 * password), all in the one opaque `passwordHash` column:
 *   $scrypt$...$<hash> $scram-sha-256$i=4096$<salt b64>$<StoredKey b64>$<ServerKey b64>
 * Credentials stored before SCRAM, or while SCRAM is turned off
 * (`[auth] scram = false`), have only the scrypt part: PLAIN and LOGIN keep
 * working, SCRAM fails until the password is set again with SCRAM on. The
 * iteration count is a setting (`[auth] scramIterations`, docs/security.md)
 * and travels in the string, so a changed count applies to passwords set
 * afterwards while older keys keep verifying at their own count.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { deriveScramCredentials, SCRAM_MIN_ITERATIONS, type ScramCredentials } from '../protocol/sasl/scram.js';

const KEY_LENGTH = 32;
const DEFAULT = { logN: 15, r: 8, p: 1 };

function scryptAsync(password: string, salt: Buffer, logN: number, r: number, p: number): Promise<Buffer> {
  const N = 2 ** logN;
  // scrypt needs 128 * N * r bytes; give it headroom (Node's default maxmem is 32 MiB).
  const maxmem = 256 * N * r;
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, { N, r, p, maxmem }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** What is stored beside the scrypt hash when a password is set. */
export interface PasswordSettings {
  /** Store SCRAM-SHA-256 keys (and offer the mechanism). Off: only the memory-hard scrypt hash is stored. */
  scram: boolean;
  /** PBKDF2 iterations of new SCRAM keys (RFC 7677 §4: at least 4096). */
  scramIterations: number;
}

/** The schema's defaults (src/config/schema.ts `[auth]`); docs/security.md gives the reasons. */
export const DEFAULT_PASSWORD_SETTINGS: PasswordSettings = { scram: true, scramIterations: 65_536 };

export async function hashPassword(password: string, params = DEFAULT, settings: PasswordSettings = DEFAULT_PASSWORD_SETTINGS): Promise<string> {
  const salt = randomBytes(16);
  // Both run on the libuv thread pool: in parallel, the wait is the longer of the two, not the sum.
  const [key, scram] = await Promise.all([
    scryptAsync(password, salt, params.logN, params.r, params.p),
    settings.scram
      ? deriveScramCredentials(password, randomBytes(16), Math.max(SCRAM_MIN_ITERATIONS, settings.scramIterations))
      : null,
  ]);
  const scrypt = `$scrypt$ln=${params.logN},r=${params.r},p=${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
  if (!scram) return scrypt;
  const b64 = (b: Buffer) => b.toString('base64');
  return `${scrypt} $scram-sha-256$i=${scram.iterations}$${b64(scram.salt)}$${b64(scram.storedKey)}$${b64(scram.serverKey)}`;
}

/** The stored credential without its SCRAM keys (only the scrypt hash), for `[auth] scram = false`. */
export function withoutScram(stored: string): string {
  return stored.split(' ')[0];
}

/** The SCRAM-SHA-256 keys of a stored credential; null for one stored before SCRAM existed here. */
export function scramCredentials(stored: string): ScramCredentials | null {
  const part = stored.split(' ').find((p) => p.startsWith('$scram-sha-256$'));
  if (!part) return null;
  const m = /^\$scram-sha-256\$i=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(part);
  if (!m) return null;
  const [, iterations, salt, storedKey, serverKey] = m;
  return {
    iterations: Number(iterations),
    salt: Buffer.from(salt, 'base64'),
    storedKey: Buffer.from(storedKey, 'base64'),
    serverKey: Buffer.from(serverKey, 'base64'),
  };
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const scryptPart = stored.split(' ')[0];
  const m = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(scryptPart);
  if (!m) return false;
  const [, ln, r, p, salt, hash] = m;
  const expected = Buffer.from(hash, 'base64');
  const key = await scryptAsync(password, Buffer.from(salt, 'base64'), Number(ln), Number(r), Number(p));
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A readable generated password: 20 characters from an unambiguous alphabet (~115 bits). */
export function generatePassword(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = randomBytes(20);
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}
