/**
 * Substring search for SEARCH text keys that stays linear in the text whatever
 * the needle. Needles come from the client (up to 64 KiB) and texts from mail
 * (up to the message size): V8's String.prototype.includes takes time
 * proportional to text × needle on repetitive input (25 s for a 300 KB needle
 * in 600 KB of text), which would let one session stall every other. Short
 * needles keep the engine's search (at worst NATIVE_MAX × linear); longer ones
 * use Knuth-Morris-Pratt, linear in text plus needle.
 */
const NATIVE_MAX = 64;

/** KMP failure function: for each prefix, the length of its longest proper border. */
function borders(needle: string): Int32Array {
  const table = new Int32Array(needle.length);
  let k = 0;
  for (let i = 1; i < needle.length; i++) {
    const c = needle.charCodeAt(i);
    while (k > 0 && needle.charCodeAt(k) !== c) k = table[k - 1]!;
    if (needle.charCodeAt(k) === c) k++;
    table[i] = k;
  }
  return table;
}

/** Looks for `needle` in text fed piece by piece (a match may span pieces). */
export class TextFinder {
  private readonly table: Int32Array | null;
  /** KMP: how many needle characters the text seen so far ends with. */
  private matched = 0;
  /** Engine search: the tail of the text seen so far in which a match may still start. */
  private carry = '';
  found: boolean;

  constructor(private readonly needle: string) {
    this.table = needle.length > NATIVE_MAX ? borders(needle) : null;
    this.found = needle === '';
  }

  /** Feeds the next piece of text; true once the needle has been seen. */
  push(text: string): boolean {
    if (this.found || text === '') return this.found;
    const needle = this.needle;
    if (!this.table) {
      const hay = this.carry + text;
      if (hay.includes(needle)) return (this.found = true);
      this.carry = hay.slice(hay.length - Math.min(needle.length - 1, hay.length));
      return false;
    }
    const table = this.table;
    let j = this.matched;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      while (j > 0 && needle.charCodeAt(j) !== c) j = table[j - 1]!;
      if (needle.charCodeAt(j) === c && ++j === needle.length) return (this.found = true);
    }
    this.matched = j;
    return false;
  }
}

/** Whether `text` contains `needle`, in time linear in the text. */
export function containsText(text: string, needle: string): boolean {
  return new TextFinder(needle).push(text);
}
