/**
 * The reader's input buffer: a queue of received chunks that can find the next
 * LF without rescanning bytes it already looked at, and hand out or drop bytes
 * from the front. Guards against quadratic work when a client trickles a long
 * line one byte per packet.
 */

/** Chunks are merged once this many pile up, so scanning stays cheap. */
const MAX_CHUNKS = 32;

export class ByteQueue {
  private chunks: Buffer[] = [];
  private head = 0; // consumed bytes of chunks[0]
  private size = 0;
  /** Bytes from the front already known to contain no LF. */
  private scanned = 0;

  get length(): number {
    return this.size;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.chunks.length > MAX_CHUNKS) {
      this.chunks = [Buffer.concat([this.chunks[0].subarray(this.head), ...this.chunks.slice(1)])];
      this.head = 0;
    }
  }

  /** Offset of the next LF from the front, or -1; remembers how far it looked. */
  indexOfLf(): number {
    let base = 0;
    for (let i = 0; i < this.chunks.length; i++) {
      const start = i === 0 ? this.head : 0;
      const len = this.chunks[i].length - start;
      if (base + len > this.scanned) {
        const from = start + Math.max(0, this.scanned - base);
        const at = this.chunks[i].indexOf(0x0a, from);
        if (at >= 0) {
          this.scanned = base + (at - start);
          return this.scanned;
        }
      }
      base += len;
    }
    this.scanned = this.size;
    return -1;
  }

  /** Up to n bytes from the front, without consuming them. */
  peek(n: number): Buffer {
    return this.slice(0, Math.min(n, this.size));
  }

  /** Bytes [start, end) from the front, without consuming them or copying the rest. */
  slice(start: number, end: number): Buffer {
    const parts: Buffer[] = [];
    let base = 0;
    for (let i = 0; i < this.chunks.length && base < end; i++) {
      const part = this.chunks[i].subarray(i === 0 ? this.head : 0);
      const from = Math.max(0, start - base);
      const to = Math.min(part.length, end - base);
      if (from < to) parts.push(part.subarray(from, to));
      base += part.length;
    }
    return Buffer.concat(parts);
  }

  /** Removes and returns n bytes (n <= length). */
  take(n: number): Buffer {
    const out = this.peek(n);
    this.drop(n);
    return out;
  }

  /** Removes n bytes (n <= length) from the front. */
  drop(n: number): void {
    let left = Math.min(n, this.size);
    this.size -= left;
    this.scanned = Math.max(0, this.scanned - left);
    while (left > 0) {
      const avail = this.chunks[0].length - this.head;
      if (left < avail) {
        this.head += left;
        return;
      }
      left -= avail;
      this.chunks.shift();
      this.head = 0;
    }
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.size = 0;
    this.scanned = 0;
  }
}
