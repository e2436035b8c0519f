/**
 * Modified UTF-7 for mailbox names (RFC 3501 §5.1.3), used on the wire with
 * IMAP4rev1 clients that have not enabled UTF8=ACCEPT (RFC 6855 §3).
 *
 * Printable US-ASCII other than "&" stands for itself; "&" is written "&-";
 * any other run of characters is written as "&" + modified BASE64 of its
 * UTF-16BE form ("," instead of "/", no "=" padding) + "-".
 */

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,';
const B64_INDEX = new Map<string, number>([...B64].map((ch, i) => [ch, i]));

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function isDirect(code: number): boolean {
  return code >= 0x20 && code <= 0x7e;
}

export class MalformedMailboxName extends Error {
  constructor(
    readonly wire: string,
    reason: string,
  ) {
    super(`Malformed modified UTF-7 mailbox name: ${reason}`);
    this.name = 'MalformedMailboxName';
  }
}

function encodeRun(units: number[]): string {
  const bytes: number[] = [];
  for (const u of units) bytes.push(u >> 8, u & 0xff);
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = i + 1 >= bytes.length ? 2 : i + 2 >= bytes.length ? 3 : 4;
    for (let k = 0; k < chars; k++) out += B64[(n >> (18 - 6 * k)) & 0x3f];
  }
  return '&' + out + '-';
}

/** UTF-8 (JS string) name -> modified UTF-7 wire form. */
export function encodeMailboxName(name: string): string {
  let out = '';
  let run: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (isDirect(code)) {
      if (run.length > 0) {
        out += encodeRun(run);
        run = [];
      }
      out += code === 0x26 ? '&-' : name[i];
    } else {
      run.push(code); // UTF-16 code units: surrogate pairs stay pairs, as RFC 2152 requires
    }
  }
  if (run.length > 0) out += encodeRun(run);
  return out;
}

function decodeRun(wire: string, b64: string): string {
  let bits = 0;
  let acc = 0;
  const bytes: number[] = [];
  for (const ch of b64) {
    const v = B64_INDEX.get(ch);
    if (v === undefined) throw new MalformedMailboxName(wire, `invalid base64 character "${ch}"`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((acc >> bits) & 0xff);
      acc &= (1 << bits) - 1;
    }
  }
  // Leftover bits must be zero padding shorter than one byte (RFC 2152).
  if (bits >= 6 || acc !== 0) throw new MalformedMailboxName(wire, 'non-zero or excess padding bits');
  if (bytes.length % 2 !== 0) throw new MalformedMailboxName(wire, 'odd number of UTF-16 bytes');
  let out = '';
  for (let i = 0; i < bytes.length; i += 2) {
    const unit = (bytes[i] << 8) | bytes[i + 1];
    // RFC 3501 §5.1.3: printable US-ASCII must be written directly, never encoded.
    if (isDirect(unit)) throw new MalformedMailboxName(wire, 'encodes a printable ASCII character');
    out += String.fromCharCode(unit);
  }
  if (LONE_SURROGATE.test(out)) throw new MalformedMailboxName(wire, 'unpaired UTF-16 surrogate');
  return out;
}

/** Modified UTF-7 wire form -> UTF-8 name; throws MalformedMailboxName on anything not produced by a correct encoder. */
export function decodeMailboxName(wire: string): string {
  let out = '';
  let i = 0;
  while (i < wire.length) {
    const code = wire.charCodeAt(i);
    if (!isDirect(code)) throw new MalformedMailboxName(wire, 'character outside printable US-ASCII');
    if (code !== 0x26) {
      out += wire[i++];
      continue;
    }
    const end = wire.indexOf('-', i + 1);
    if (end < 0) throw new MalformedMailboxName(wire, 'unterminated "&" shift');
    out += end === i + 1 ? '&' : decodeRun(wire, wire.slice(i + 1, end));
    i = end + 1;
  }
  return out;
}
