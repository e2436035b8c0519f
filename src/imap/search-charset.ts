/**
 * SEARCH CHARSET (RFC 9051 §6.4.4): the strings of a search program arrive in
 * the charset the client names. UTF-8 and US-ASCII are decoded by the parser;
 * for any other charset iconv-lite knows (ISO-8859-x, Windows-125x, KOI8-R,
 * Shift_JIS, GB18030, Big5, EUC-KR, ...) the parser keeps the octets (latin1)
 * and they are decoded here. Anything else is refused with
 * NO [BADCHARSET (list)] (§7.1), the list naming the usual ones.
 */
import iconv from 'iconv-lite';
import { isUtf8Charset } from '../protocol/imap/parse-search.js';
import type { SearchKey } from '../protocol/imap/types.js';

/** iconv-lite also "decodes" these, but they are transfer encodings, not charsets. */
const NOT_CHARSETS = new Set(['base64', 'hex', 'binary', '_internal']);

/** Named in BADCHARSET: the charsets mail is commonly written in, of all those accepted. */
export const LISTED_CHARSETS = [
  'UTF-8',
  'US-ASCII',
  ...Array.from({ length: 16 }, (_, i) => `ISO-8859-${i + 1}`),
  ...Array.from({ length: 9 }, (_, i) => `WINDOWS-${1250 + i}`),
  'KOI8-R',
  'KOI8-U',
  'SHIFT_JIS',
  'EUC-JP',
  'GB2312',
  'GBK',
  'GB18030',
  'BIG5',
  'EUC-KR',
  'UTF-16',
  'UTF-16BE',
  'UTF-16LE',
].filter((name) => knownCharset(name));

export function knownCharset(name: string): boolean {
  if (isUtf8Charset(name)) return true;
  return !NOT_CHARSETS.has(name.toLowerCase()) && iconv.encodingExists(name);
}

/** The program with its strings decoded from `charset` (kept as octets by the parser). */
export function decodeSearchStrings(key: SearchKey, charset: string | null): SearchKey {
  if (charset === null || isUtf8Charset(charset)) return key;
  const decode = (s: string) => iconv.decode(Buffer.from(s, 'latin1'), charset);
  const walk = (k: SearchKey): SearchKey => {
    switch (k.type) {
      case 'header':
        return { ...k, value: decode(k.value) };
      case 'body':
      case 'text':
        return { ...k, value: decode(k.value) };
      case 'not':
        return { ...k, key: walk(k.key) };
      case 'or':
        return { ...k, left: walk(k.left), right: walk(k.right) };
      case 'and':
        return { ...k, keys: k.keys.map(walk) };
      default:
        return k;
    }
  };
  return walk(key);
}
