/**
 * A minimal SCRAM-SHA-256 client (RFC 5802 §3, RFC 7677), written from the
 * RFC independently of the server's code, for tests over a fake connection or
 * a real socket. ASCII passwords only (no SASLprep needed).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

export class ScramClient {
  readonly clientFirstBare: string;
  private expectedServerSignature = '';

  constructor(
    user: string,
    private readonly password: string,
    private readonly gs2Header = 'n,,',
    nonce = randomBytes(18).toString('base64'),
  ) {
    this.clientFirstBare = `n=${user.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${nonce}`;
  }

  /** The initial response (base64). */
  first(): string {
    return b64(this.gs2Header + this.clientFirstBare);
  }

  /** The client-final message (base64) for the server's challenge (base64). */
  final(serverFirstBase64: string): string {
    const serverFirst = unb64(serverFirstBase64);
    const attrs = Object.fromEntries(serverFirst.split(',').map((a) => [a[0], a.slice(2)]));
    if (!attrs.r.startsWith(this.clientFirstBare.split(',r=')[1])) throw new Error('server nonce does not extend ours');
    const salted = pbkdf2Sync(this.password, Buffer.from(attrs.s, 'base64'), Number(attrs.i), 32, 'sha256');
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();
    const storedKey = createHash('sha256').update(clientKey).digest();
    const withoutProof = `c=${b64(this.gs2Header)},r=${attrs.r}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const signature = createHmac('sha256', storedKey).update(authMessage).digest();
    const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]));
    const serverKey = createHmac('sha256', salted).update('Server Key').digest();
    this.expectedServerSignature = createHmac('sha256', serverKey).update(authMessage).digest().toString('base64');
    return b64(`${withoutProof},p=${proof.toString('base64')}`);
  }

  /** True when the server's final message (base64) proves it knows our keys. */
  verifyServer(serverFinalBase64: string): boolean {
    return unb64(serverFinalBase64) === `v=${this.expectedServerSignature}`;
  }
}
