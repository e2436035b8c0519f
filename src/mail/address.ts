/**
 * RFC 5322 §3.4 address lists turned into IMAP ENVELOPE addresses
 * (RFC 9051 §7.5.2): [name, adl, mailbox, host], with group start
 * [NIL, NIL, group, NIL] and group end [NIL, NIL, NIL, NIL].
 *
 * Input and output strings are latin1 "byte strings" (one char per octet) so
 * 8-bit names survive unchanged; encoded words are left for the client to
 * decode, as servers do in ENVELOPE. Tolerant: never throws.
 */

export interface EnvelopeAddress {
  name: string | null;
  adl: string | null;
  mailbox: string | null;
  host: string | null;
}

/** Placeholders for missing parts, as Dovecot fills them, so a NIL host is never mistaken for a group marker. */
const MISSING_MAILBOX = 'MISSING_MAILBOX';
const MISSING_DOMAIN = 'MISSING_DOMAIN';

type TokenKind = 'atom' | 'quoted' | 'comment' | 'literal' | 'special';
interface Token {
  kind: TokenKind;
  value: string;
  /** Whitespace or a comment came before this token. */
  spaced: boolean;
}

const SPECIALS = '()<>[]:;@\\,."';

function tokenize(s: string): Token[] {
  const tokens: Token[] = [];
  let spaced = false;
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      spaced = true;
      i++;
    } else if (c === '"') {
      let v = '';
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        v += s[i];
        i++;
      }
      i++;
      tokens.push({ kind: 'quoted', value: v, spaced });
      spaced = false;
    } else if (c === '(') {
      // Comments nest (RFC 5322 §3.2.2).
      let depth = 1;
      let v = '';
      i++;
      while (i < s.length && depth > 0) {
        const d = s[i]!;
        if (d === '\\' && i + 1 < s.length) {
          v += s[i + 1];
          i += 2;
          continue;
        }
        if (d === '(') depth++;
        if (d === ')') depth--;
        if (depth > 0) v += d;
        i++;
      }
      tokens.push({ kind: 'comment', value: v.trim(), spaced });
      spaced = true;
    } else if (c === '[') {
      const close = s.indexOf(']', i);
      const stop = close === -1 ? s.length : close + 1;
      tokens.push({ kind: 'literal', value: s.slice(i, stop), spaced });
      spaced = false;
      i = stop;
    } else if (SPECIALS.includes(c)) {
      tokens.push({ kind: 'special', value: c, spaced });
      spaced = false;
      i++;
    } else {
      let j = i;
      while (j < s.length && !SPECIALS.includes(s[j]!) && !' \t\r\n'.includes(s[j]!)) j++;
      tokens.push({ kind: 'atom', value: s.slice(i, j), spaced });
      spaced = false;
      i = j;
    }
  }
  return tokens;
}

const isSpecial = (t: Token | undefined, c: string): boolean => t !== undefined && t.kind === 'special' && t.value === c;

/** A display name: words joined by one space where the source had whitespace (obs-phrase dots kept). */
function phrase(tokens: Token[]): string | null {
  let out = '';
  for (const t of tokens) {
    if (t.kind === 'comment') continue;
    if (out && t.spaced) out += ' ';
    out += t.value;
  }
  return out === '' ? null : out;
}

/** local-part "@" domain, written without the whitespace and comments around its dots. */
function addrSpec(tokens: Token[]): { mailbox: string | null; host: string | null } {
  const words = tokens.filter((t) => t.kind !== 'comment');
  let at = -1;
  for (let k = words.length - 1; k >= 0; k--) if (isSpecial(words[k], '@')) { at = k; break; }
  const join = (ts: Token[]) => ts.map((t) => t.value).join('');
  if (at === -1) {
    const mailbox = join(words);
    return { mailbox: mailbox || null, host: null };
  }
  return { mailbox: join(words.slice(0, at)) || null, host: join(words.slice(at + 1)) || null };
}

function filled(name: string | null, adl: string | null, spec: { mailbox: string | null; host: string | null }): EnvelopeAddress {
  return { name, adl, mailbox: spec.mailbox ?? MISSING_MAILBOX, host: spec.host ?? MISSING_DOMAIN };
}

/** Parses one mailbox (name-addr or addr-spec) from its tokens. */
function mailbox(tokens: Token[]): EnvelopeAddress | null {
  if (tokens.length === 0) return null;
  const open = tokens.findIndex((t) => isSpecial(t, '<'));
  if (open === -1) {
    const spec = addrSpec(tokens);
    if (spec.mailbox === null && spec.host === null) return null;
    // "user@host (Real Name)": the comment is the only name there is.
    const comment = tokens.find((t) => t.kind === 'comment' && t.value !== '');
    return filled(comment ? comment.value : null, null, spec);
  }
  let close = tokens.findIndex((t, k) => k > open && isSpecial(t, '>'));
  if (close === -1) close = tokens.length;
  let inner = tokens.slice(open + 1, close);
  let adl: string | null = null;
  // obs-route "@a,@b:" before the addr-spec (RFC 5322 §4.4) becomes the adl.
  const colon = inner.findIndex((t) => isSpecial(t, ':'));
  if (inner.length > 0 && isSpecial(inner[0], '@') && colon !== -1) {
    adl = inner.slice(0, colon).map((t) => t.value).join('');
    inner = inner.slice(colon + 1);
  }
  const name = phrase(tokens.slice(0, open));
  const spec = addrSpec(inner);
  if (spec.mailbox === null && spec.host === null) {
    // "<>" or "Name <>": an empty address; keep it only if it has a name.
    return name === null ? null : filled(name, adl, spec);
  }
  return filled(name, adl, spec);
}

/** Splits a token run at top-level commas, ignoring commas inside <...>. */
function splitMailboxes(tokens: Token[]): Token[][] {
  const out: Token[][] = [];
  let cur: Token[] = [];
  let angle = false;
  for (const t of tokens) {
    if (isSpecial(t, '<')) angle = true;
    if (isSpecial(t, '>')) angle = false;
    if (!angle && isSpecial(t, ',')) {
      out.push(cur);
      cur = [];
    } else {
      cur.push(t);
    }
  }
  out.push(cur);
  return out;
}

/**
 * An address list as ENVELOPE addresses in order, groups expanded with their
 * start and end markers. Empty when nothing parses (the envelope writes NIL).
 */
export function parseAddressList(value: string): EnvelopeAddress[] {
  const tokens = tokenize(value);
  const out: EnvelopeAddress[] = [];
  let i = 0;
  while (i < tokens.length) {
    // A group is "display-name : [mailbox-list] ;" (RFC 5322 §3.4). Find where this item ends.
    let j = i;
    let angle = false;
    while (j < tokens.length) {
      const t = tokens[j]!;
      if (isSpecial(t, '<')) angle = true;
      else if (isSpecial(t, '>')) angle = false;
      else if (!angle && (isSpecial(t, ',') || isSpecial(t, ':') || isSpecial(t, ';'))) break;
      j++;
    }
    if (isSpecial(tokens[j], ':')) {
      out.push({ name: null, adl: null, mailbox: phrase(tokens.slice(i, j)) ?? '', host: null });
      let k = j + 1;
      while (k < tokens.length && !isSpecial(tokens[k], ';')) k++;
      for (const m of splitMailboxes(tokens.slice(j + 1, k))) {
        const addr = mailbox(m);
        if (addr) out.push(addr);
      }
      out.push({ name: null, adl: null, mailbox: null, host: null });
      i = k + 1;
      continue;
    }
    const addr = mailbox(tokens.slice(i, j));
    if (addr) out.push(addr);
    i = j + 1;
  }
  return out;
}
