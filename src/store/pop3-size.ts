/**
 * The POP3 size of a message, kept by every backend so that STAT and LIST
 * never read a body (RFC 1939 §5 wants exact sizes): the octets RETR sends
 * once a client removes the byte-stuffing, i.e. the message with every bare
 * LF as CRLF, plus the CRLF RETR adds when the message does not end with a
 * line end. Counted as the bytes go by, so a streamed body needs no second
 * pass. (The POP3 codec's `wireSize` is the same count; the store may not
 * import protocol code, and tests check the two agree.)
 */

const LF = 0x0a;
const CR = 0x0d;

export class Pop3SizeCounter {
  private octets = 0;
  private lastByte = -1;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.octets += chunk.length;
    let lf = chunk.indexOf(LF);
    while (lf !== -1) {
      const before = lf > 0 ? chunk[lf - 1] : this.lastByte;
      if (before !== CR) this.octets += 1;
      lf = chunk.indexOf(LF, lf + 1);
    }
    this.lastByte = chunk[chunk.length - 1];
  }

  /** The size so far, with the final line end RETR would add. */
  total(): number {
    if (this.lastByte === -1 || this.lastByte === LF) return this.octets;
    return this.octets + (this.lastByte === CR ? 1 : 2);
  }
}

export function pop3SizeOf(content: Uint8Array): number {
  const counter = new Pop3SizeCounter();
  counter.push(content);
  return counter.total();
}
