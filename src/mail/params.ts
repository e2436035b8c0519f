/**
 * Content-Type / Content-Disposition parameters as BODYSTRUCTURE lists them
 * (RFC 9051 §7.5.2 body-fld-param): the values as written, unquoted, with
 * RFC 2231 continuations merged but never charset-converted, so the client
 * sees the sender's charset and language tag.
 *
 * RFC 2231 §3 splits a value into `key*0`, `key*1`, ... and §4 marks a
 * segment percent-encoded with a trailing `*`; only the first segment may
 * carry `charset'language'` (§4.1). When any segment is encoded the merged
 * value is written as one `key*` ext-value: plain segments have their `%`
 * escaped, and a plain first segment gets an empty `''` prefix. The same
 * merge Dovecot does, so clients that decode `key*` see the same text.
 */

/** One parameter as written: key lowercased, value unquoted, bytes as latin1. */
interface RawParam {
  key: string;
  value: string;
}

const TSPECIALS = new Set(['(', ')', '<', '>', '@', ',', ';', ':', '\\', '"', '/', '[', ']', '?', '=']);

/** Skips whitespace and RFC 822 comments (nested, with quoted pairs). */
function skipCfws(s: string, i: number): number {
  for (;;) {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
    if (s[i] !== '(') return i;
    let depth = 0;
    for (; i < s.length; i++) {
      if (s[i] === '\\') i++;
      else if (s[i] === '(') depth++;
      else if (s[i] === ')' && --depth === 0) {
        i++;
        break;
      }
    }
  }
}

/** The raw parameters after the first `;` of an unfolded header value, in order. */
export function rawParams(unfolded: string): RawParam[] {
  const out: RawParam[] = [];
  let i = unfolded.indexOf(';');
  if (i === -1) return out;
  while (i < unfolded.length) {
    i = skipCfws(unfolded, i);
    if (unfolded[i] === ';') {
      i++;
      continue;
    }
    const keyStart = i;
    while (i < unfolded.length && unfolded[i] !== '=' && unfolded[i] !== ';' && unfolded[i] !== ' ' && unfolded[i] !== '\t') i++;
    const key = unfolded.slice(keyStart, i).toLowerCase();
    i = skipCfws(unfolded, i);
    if (unfolded[i] !== '=' || key === '') {
      // A parameter without a value is not valid syntax: skip to the next one.
      while (i < unfolded.length && unfolded[i] !== ';') i++;
      continue;
    }
    i = skipCfws(unfolded, i + 1);
    let value = '';
    if (unfolded[i] === '"') {
      for (i++; i < unfolded.length && unfolded[i] !== '"'; i++) {
        if (unfolded[i] === '\\' && i + 1 < unfolded.length) i++;
        value += unfolded[i];
      }
      i++;
    } else {
      // A token; lenient about tspecials other than ';' (common in real mail), stopping at space or comment.
      const start = i;
      while (i < unfolded.length && unfolded[i] !== ';' && unfolded[i] !== ' ' && unfolded[i] !== '\t' && unfolded[i] !== '(') i++;
      value = unfolded.slice(start, i);
    }
    out.push({ key, value });
    while (i < unfolded.length && unfolded[i] !== ';') i++;
  }
  return out;
}

function escapePercent(value: string): string {
  return value.replace(/%/g, '%25');
}

/**
 * Parameters with RFC 2231 continuations merged, as a flat [key, value, ...]
 * list: plain parameters first in their order, then each continued one
 * (sorted by name). A continuation with a gap ends at the gap (§3).
 */
export function mergedParams(unfolded: string): string[] {
  const plain: string[] = [];
  const continued = new Map<string, Map<number, { value: string; encoded: boolean }>>();
  for (const { key, value } of rawParams(unfolded)) {
    const m = /^(.+?)\*(\d+)(\*?)$/.exec(key);
    if (!m || TSPECIALS.has(m[1]!)) {
      plain.push(key, value);
      continue;
    }
    const segments = continued.get(m[1]!) ?? new Map();
    const index = Number(m[2]);
    if (!segments.has(index)) segments.set(index, { value, encoded: m[3] === '*' });
    continued.set(m[1]!, segments);
  }
  const merged: string[] = [];
  for (const name of [...continued.keys()].sort()) {
    const segments = continued.get(name)!;
    const ordered: { value: string; encoded: boolean }[] = [];
    for (let k = 0; segments.has(k); k++) ordered.push(segments.get(k)!);
    if (ordered.length === 0) continue;
    if (!ordered.some((s) => s.encoded)) {
      merged.push(name, ordered.map((s) => s.value).join(''));
      continue;
    }
    const [first, ...rest] = ordered;
    const head = first!.encoded ? first!.value : `''${escapePercent(first!.value)}`;
    merged.push(`${name}*`, head + rest.map((s) => (s.encoded ? s.value : escapePercent(s.value))).join(''));
  }
  return [...plain, ...merged];
}
