/**
 * HTML to plain text for PREVIEW (RFC 8970), in linear time.
 *
 * Each pass below gives the same result as the regular expression named in
 * its comment, which the preview used to run; those took quadratic time on
 * unclosed `<style`, `<script`, `<head`, `<!--` or `<` (each opening searched
 * to the end of the text again), so 400 KB of `<style` stalled the server for
 * 20 s. Here every search resumes where the previous one stopped, and a
 * search that found nothing is not repeated.
 */

const GT = 0x3e;

const RAW_TEXT_ELEMENTS = ['script', 'style', 'head'];

/** ASCII lower case of one UTF-16 unit; a case-insensitive regex without the u flag folds only ASCII to ASCII. */
function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
}

function isWordChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

/** JavaScript's `\s` (ECMAScript WhiteSpace and LineTerminator). */
function isSpace(c: number): boolean {
  return (
    (c >= 0x09 && c <= 0x0d) || c === 0x20 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
  );
}

/** `name` (lower case) at `at`, compared case-insensitively. */
function nameAt(text: string, at: number, name: string): boolean {
  if (at + name.length > text.length) return false;
  for (let k = 0; k < name.length; k++) if (lower(text.charCodeAt(at + k)) !== name.charCodeAt(k)) return false;
  return true;
}

/** End of the first `</name\s*>` starting at or after `from`, or -1. */
function findCloser(text: string, from: number, name: string): { start: number; end: number } | null {
  for (let at = text.indexOf('</', from); at !== -1; at = text.indexOf('</', at + 1)) {
    if (!nameAt(text, at + 2, name)) continue;
    let i = at + 2 + name.length;
    while (i < text.length && isSpace(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) === GT) return { start: at, end: i + 1 };
  }
  return null;
}

/** `/<(script|style|head)\b[\s\S]*?<\/\1\s*>/gi` replaced by one space. */
export function dropRawTextElements(text: string): string {
  // Per element name: where its last closer search started and what it found (null: none at or after that point).
  const searched = new Map<string, { from: number; found: { start: number; end: number } | null }>();
  let out = '';
  let copied = 0;
  for (let lt = text.indexOf('<'); lt !== -1; lt = text.indexOf('<', lt + 1)) {
    const name = RAW_TEXT_ELEMENTS.find((n) => nameAt(text, lt + 1, n));
    if (!name) continue;
    const after = lt + 1 + name.length;
    if (after < text.length && isWordChar(text.charCodeAt(after))) continue; // `\b`
    // The earliest closer at or after `after`. Searches for one name only move forward, except when
    // a previous search from an earlier point found a closer at or after this point: reuse it.
    const last = searched.get(name);
    let found: { start: number; end: number } | null;
    if (last && last.from <= after && (last.found === null || last.found.start >= after)) {
      found = last.found;
    } else {
      found = findCloser(text, after, name);
      searched.set(name, { from: after, found });
    }
    if (!found) continue;
    out += text.slice(copied, lt) + ' ';
    copied = found.end;
    lt = found.end - 1;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** `/<!--[\s\S]*?-->/g` replaced by one space. */
export function dropComments(text: string): string {
  let out = '';
  let copied = 0;
  for (let open = text.indexOf('<!--'); open !== -1; open = text.indexOf('<!--', copied)) {
    const close = text.indexOf('-->', open + 4);
    // No "-->" after this opening means none after any later one either.
    if (close === -1) break;
    out += text.slice(copied, open) + ' ';
    copied = close + 3;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** `/<[^>]*>/g` replaced by one space. */
export function dropTags(text: string): string {
  let out = '';
  let copied = 0;
  for (let open = text.indexOf('<'); open !== -1; open = text.indexOf('<', copied)) {
    const close = text.indexOf('>', open + 1);
    if (close === -1) break; // no ">" after this "<", so none after a later one
    out += text.slice(copied, open) + ' ';
    copied = close + 1;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** Character references; this expression is linear (each `&` reads one run of name characters). */
function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
    if (name[0] === '#') {
      const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : ' ';
    }
    return ENTITIES[name.toLowerCase()] ?? whole;
  });
}

/** Text of an HTML document: script, style and head elements, comments and tags removed, character references decoded. */
export function htmlToText(html: string): string {
  return decodeEntities(dropTags(dropComments(dropRawTextElements(html))));
}
