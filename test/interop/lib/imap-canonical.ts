/**
 * Turns IMAP response lines into a canonical text, so that two servers'
 * answers can be compared for meaning rather than for incidental form:
 * - tags become TAG, human-readable status text is dropped (codes are kept);
 * - strings compare by value whether sent quoted or as a literal (RFC 9051 §4.3);
 * - FETCH data items are sorted by name and flag lists sorted (§7.5.2 and
 *   §2.3.2 give no order);
 * - per-server values are masked: UIDVALIDITY, INTERNALDATE, MODSEQ,
 *   MAILBOXID/EMAILID/THREADID, CAPABILITY lists.
 */

export type Token = string | { s: string } | null | Token[];

/** Parses one response line (literals already inlined as `{n}\r\n<bytes>`). Atoms keep `[...]` sections whole. */
export function tokenize(line: string): Token[] {
  let i = 0;
  const parseList = (close: string | null): Token[] => {
    const out: Token[] = [];
    for (;;) {
      while (line[i] === ' ') i++;
      if (i >= line.length) {
        if (close) throw new Error(`unterminated list in: ${line}`);
        return out;
      }
      const ch = line[i]!;
      if (close && ch === close) {
        i++;
        return out;
      }
      if (ch === '(') {
        i++;
        out.push(parseList(')'));
      } else if (ch === '"') {
        let s = '';
        i++;
        while (line[i] !== '"') {
          if (i >= line.length) throw new Error(`unterminated string in: ${line}`);
          if (line[i] === '\\') i++;
          s += line[i++];
        }
        i++;
        out.push({ s });
      } else if ((ch === '{' || ch === '~') && /^~?\{(\d+)\+?\}\r\n/.test(line.slice(i))) {
        // A literal, or a literal8 (RFC 3516 §4.3, BINARY): compared by value like a quoted string.
        const m = /^~?\{(\d+)\+?\}\r\n/.exec(line.slice(i))!;
        i += m[0].length;
        out.push({ s: line.slice(i, i + Number(m[1])) });
        i += Number(m[1]);
      } else {
        let atom = '';
        let depth = 0;
        while (i < line.length) {
          const c = line[i]!;
          if (depth === 0 && (c === ' ' || c === '(' || c === ')')) break;
          if (c === '[') depth++;
          if (c === ']') depth--;
          atom += c;
          i++;
        }
        out.push(atom.toUpperCase() === 'NIL' ? null : atom);
      }
    }
  };
  return parseList(null);
}

export function render(t: Token): string {
  if (t === null) return 'NIL';
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) return `(${t.map(render).join(' ')})`;
  return JSON.stringify(t.s);
}

const MASKED_FETCH_ITEMS = new Set(['INTERNALDATE', 'MODSEQ', 'EMAILID', 'THREADID', 'SAVEDATE']);

function canonicalFetch(items: Token[]): string {
  const pairs: string[] = [];
  for (let k = 0; k < items.length; k += 2) {
    const name = String(items[k]).toUpperCase();
    let value = items[k + 1] ?? null;
    if (MASKED_FETCH_ITEMS.has(name)) value = '*';
    else if (name === 'FLAGS' && Array.isArray(value)) value = [...value].map(String).sort();
    pairs.push(`${name} ${render(value)}`);
  }
  return `(${pairs.sort().join(' ')})`;
}

/** Canonical form of one response line. */
export function canonicalLine(line: string): string {
  const tagged = /^(t\d+|\*|\+) ?(.*)$/s.exec(line);
  if (!tagged) return line;
  const who = tagged[1] === '*' || tagged[1] === '+' ? tagged[1] : 'TAG';
  const rest = tagged[2]!;
  if (who === '+') return '+';
  const status = /^(OK|NO|BAD|BYE|PREAUTH)(?: \[([^\]]*(?:\[[^\]]*\][^\]]*)*)\])?/i.exec(rest);
  if (status) {
    const code = status[2];
    if (!code) return `${who} ${status[1]!.toUpperCase()}`;
    const name = code.split(' ')[0]!.toUpperCase();
    const masked = ['CAPABILITY', 'UIDVALIDITY', 'HIGHESTMODSEQ', 'MAILBOXID', 'APPENDUID', 'COPYUID'].includes(name)
      ? `${name} *`
      : name === 'PERMANENTFLAGS' || name === 'UNSEEN' || name === 'UIDNEXT'
        ? code
        : name;
    return `${who} ${status[1]!.toUpperCase()} [${masked}]`;
  }
  // RFC 4731 §3.1: the ESEARCH correlator names the client's tag, which differs per connection.
  const tokens = tokenize(rest.replace(/^ESEARCH \(TAG "t\d+"\)/i, 'ESEARCH (TAG "TAG")'));
  const [first, second] = tokens;
  if (typeof first === 'string' && first.toUpperCase() === 'CAPABILITY') return `${who} CAPABILITY *`;
  if (typeof second === 'string' && second.toUpperCase() === 'FETCH' && Array.isArray(tokens[2])) {
    return `${who} ${first} FETCH ${canonicalFetch(tokens[2])}`;
  }
  if (typeof first === 'string' && ['LIST', 'LSUB'].includes(first.toUpperCase()) && Array.isArray(second)) {
    const attrs = second.map((a) => String(a)).sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));
    // The mailbox name compares by value, whether sent as an atom, a quoted string or a literal.
    const [delimiter, name, ...extended] = tokens.slice(2);
    const asString = (t: Token | undefined) => (typeof t === 'string' ? { s: t } : (t ?? null));
    return `${who} ${first.toUpperCase()} (${attrs.join(' ')}) ${[delimiter ?? null, asString(name), ...extended].map(render).join(' ')}`;
  }
  if (typeof first === 'string' && first.toUpperCase() === 'STATUS' && Array.isArray(tokens[2])) {
    const items = tokens[2];
    const pairs: string[] = [];
    for (let k = 0; k < items.length; k += 2) {
      const name = String(items[k]).toUpperCase();
      pairs.push(`${name} ${name === 'UIDVALIDITY' || name === 'HIGHESTMODSEQ' || name === 'MAILBOXID' ? '*' : render(items[k + 1] ?? null)}`);
    }
    const name = typeof tokens[1] === 'string' ? { s: tokens[1] } : tokens[1]!;
    return `${who} STATUS ${render(name)} (${pairs.sort().join(' ')})`;
  }
  return `${who} ${tokens.map(render).join(' ')}`;
}

/**
 * Canonical form of a whole command's responses. LIST/LSUB replies are
 * sorted (RFC 9051 §6.3.9 gives them no order).
 */
export function canonicalResponses(lines: string[]): string[] {
  const canon = lines.map(canonicalLine);
  const isListish = (l: string) => /^\* (LIST|LSUB|STATUS) /.test(l);
  // LIST-STATUS (RFC 5819 §3) puts a mailbox's STATUS after its LIST: sort by mailbox name, LIST first.
  const name = (l: string) => /^\* (?:(?:LIST|LSUB) \([^)]*\) (?:NIL|"(?:[^"\\]|\\.)*") |STATUS )("(?:[^"\\]|\\.)*")/.exec(l)?.[1] ?? l;
  const key = (l: string) => `${name(l)} ${l.startsWith('* STATUS') ? 1 : 0} ${l}`;
  const listish = canon.filter(isListish).sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  let k = 0;
  return canon.map((l) => (isListish(l) ? listish[k++]! : l));
}
