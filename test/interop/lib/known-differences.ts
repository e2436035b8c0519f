/**
 * Differences between Mailstead and Dovecot 2.3 found by the differential
 * transcripts. `acceptable`: both answers are allowed (reason also in
 * docs/compatibility.md). `bug`: Mailstead is wrong; the assertion is a todo
 * until fixed. `when` narrows an entry to the exact difference it describes,
 * so any other difference for the same command still fails.
 */
export interface KnownDifference {
  id: string;
  kind: 'acceptable' | 'bug';
  command: RegExp;
  /** Condition on the canonical answers (mailstead, dovecot); absent means any difference for the command. */
  when?: (mailstead: string[], dovecot: string[]) => boolean;
  reason: string;
}

import { type Token, tokenize } from './imap-canonical.js';

const sorted = (lines: string[]) => [...lines].sort();
const same = (a: string[], b: string[]) => JSON.stringify(a) === JSON.stringify(b);
/** Equal once `f` is applied to every line of both answers. */
const equalAfter = (f: (line: string) => string) => (a: string[], b: string[]) => same(sorted(a.map(f)), sorted(b.map(f)));

/**
 * Two BODY/BODYSTRUCTURE answers that are equal except that Dovecot counts
 * the CRLF ending a nested close delimiter (or a header-only encapsulated
 * message) inside a message/rfc822 part: its size is 2 more and its line
 * count 1 more, nothing else differs.
 */
function equalButRfc822Crlf(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const walk = (x: Token, y: Token): boolean => {
    if (!Array.isArray(x) || !Array.isArray(y)) return JSON.stringify(x) === JSON.stringify(y);
    if (x.length !== y.length) return false;
    const isMsg = (t: Token[]) => JSON.stringify(t.slice(0, 2)).toLowerCase() === '[{"s":"message"},{"s":"rfc822"}]';
    if (isMsg(x) && isMsg(y) && x.length >= 10) {
      const dSize = Number(y[6]) - Number(x[6]);
      const dLines = Number(y[9]) - Number(x[9]);
      if ((dSize !== 0 || dLines !== 0) && (dSize !== 2 || dLines !== 1)) return false;
      return x.every((t, i) => i === 6 || i === 9 || walk(t, y[i]!));
    }
    return x.every((t, i) => walk(t, y[i]!));
  };
  return a.every((l, i) => walk(tokenize(l), tokenize(b[i]!)));
}

/** BINARY.SIZE answers where Dovecot's is 2 more (the CRLF of C10). */
function sizeTwoMore(a: string[], b: string[]): boolean {
  const size = (l: string[]) => Number(/BINARY\.SIZE\[[\d.]*\] (\d+)/.exec(l[0] ?? '')?.[1] ?? NaN);
  return a.length === 2 && b.length === 2 && size(b) - size(a) === 2;
}

/** A body section whose only difference is a CRLF at its end, which Mailstead leaves to the next delimiter. */
const trailingCrlfOnly = (a: string[], b: string[]) =>
  a.length === b.length && a.every((l, i) => l === b[i] || `${l.replace(/"\)$/, '')}\\r\\n")` === b[i]);

/** SEARCH answers where Mailstead finds exactly the messages Dovecot finds plus one. */
function oneMoreHit(a: string[], b: string[]): boolean {
  const hits = (l: string[]) => (l.find((x) => x.startsWith('* SEARCH')) ?? '').split(' ').slice(2);
  const [mine, theirs] = [hits(a), hits(b)];
  return mine.length === theirs.length + 1 && theirs.every((n) => mine.includes(n));
}

export const KNOWN: KnownDifference[] = [
  {
    id: 'C1-no-recent',
    kind: 'acceptable',
    command: /^(FETCH \d+ \((FLAGS|FAST|ALL)\)|SEARCH (NEW|OLD|RECENT)|EXAMINE |SELECT )/,
    when: (a, b) =>
      equalAfter((l) => l.replace(/ ?\\Recent/g, '').replace(/\(\s/, '(').replace(/^\* \d+ RECENT$/, '* n RECENT'))(a, b) ||
      /SEARCH (NEW|OLD|RECENT)/.test(a.join()) ||
      a.some((l) => /^\* SEARCH/.test(l)),
    reason: '\\Recent goes to the first session told of a message (RFC 3501 §2.3.2): which one that is depends on timing, so RECENT counts and NEW/OLD/RECENT may differ',
  },
  {
    id: 'C2-nonexistent-part',
    kind: 'acceptable',
    command: /^FETCH \d+ \((BODY|BINARY)\.PEEK\[[\d.]+(\.MIME)?\]/,
    when: equalAfter((l) => l.replace(/((BODY|BINARY)\[[\d.A-Z]+\]) (NIL|"")/, '$1 EMPTY')),
    reason: 'a section that does not exist: Mailstead answers NIL (as Cyrus), Dovecot an empty string; RFC 9051 §6.4.5 does not say',
  },
  {
    id: 'C3-default-content-type-case',
    kind: 'acceptable',
    command: /^FETCH \d+ \((BODY|BODYSTRUCTURE)\)$/,
    when: equalAfter((l) => l.toLowerCase()),
    reason: 'a header written "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII": Mailstead repeats it as written (as the RFC 9051 examples), Dovecot in lower case; values are case-insensitive (RFC 2045 §5.1)',
  },
  {
    id: 'C4-sent-date-missing',
    kind: 'acceptable',
    command: /^SEARCH SENT(BEFORE|ON|SINCE) /,
    reason: 'a message without a Date: header: Dovecot treats its sent date as 1970 and matches SENTBEFORE, Mailstead matches no SENT* key (RFC 9051 §6.4.4 defines them on the Date: header only)',
  },
  {
    id: 'C5-lsub-special-use',
    kind: 'acceptable',
    command: /^LSUB /,
    when: equalAfter((l) => l.replace(/\((\\(Archive|Drafts|Junk|Sent|Trash))\)/, '()')),
    reason: 'Dovecot adds special-use attributes to LSUB replies; RFC 6154 §2 defines them for LIST only',
  },
  {
    id: 'C6-list-extra-attributes',
    kind: 'acceptable',
    command: /^LIST \(|^LIST .* RETURN \(|^LIST "" \(/,
    when: equalAfter((l) => l.replace(/ ?\\(HasNoChildren|HasChildren|Archive|Drafts|Junk|Sent|Trash)\b/g, '').replace(/\(\s/, '(')),
    reason:
      'Mailstead always returns \\HasChildren/\\HasNoChildren and special-use attributes; Dovecot only when asked (RETURN (CHILDREN), (SPECIAL-USE)) and never with selection options or several patterns. RFC 5258 §4 and RFC 6154 §2 allow both',
  },
  {
    id: 'C7-status-selected-clientbug',
    kind: 'acceptable',
    command: /^STATUS /,
    when: (a, b) => same(a.slice(0, -1), b.slice(0, -1)) && b.at(-1) === 'TAG OK [CLIENTBUG]' && a.at(-1) === 'TAG OK',
    reason: 'STATUS on the selected mailbox: Dovecot adds the informational [CLIENTBUG] code (RFC 9051 §6.3.11 discourages it); the data are equal',
  },
  {
    id: 'C8-nonexistent-code',
    kind: 'acceptable',
    command: /^(STATUS Nonexistent|GETMETADATA NoSuchMailbox) /,
    when: (a, b) => a.at(-1) === 'TAG NO [NONEXISTENT]' && b.at(-1) === 'TAG NO',
    reason: 'Mailstead adds the [NONEXISTENT] response code (RFC 5530) for a missing mailbox',
  },
  {
    id: 'C9-select-list-and-order',
    kind: 'acceptable',
    command: /^(SELECT|EXAMINE) /,
    when: (a, b) =>
      same(
        sorted(a.filter((l) => !/^\* LIST |^\* OK \[(HIGHESTMODSEQ|MAILBOXID) /.test(l)).map((l) => l.replace(/^\* \d+ RECENT$/, '* n RECENT'))),
        sorted(b.map((l) => l.replace(/^\* \d+ RECENT$/, '* n RECENT'))),
      ),
    reason:
      'Mailstead sends the untagged LIST that RFC 9051 §6.3.2 requires in a SELECT reply (also to rev1 clients, which must accept any untagged response, RFC 3501 §7), HIGHESTMODSEQ without CONDSTORE being enabled (RFC 7162 §3.1.2.1), MAILBOXID (RFC 8474 §4.1, as it announces OBJECTID), and orders the untagged data differently',
  },
  {
    id: 'C10-nested-close-delimiter-crlf',
    kind: 'acceptable',
    command: /^FETCH \d+ \((BODY|BODYSTRUCTURE|(BODY|BINARY)\.PEEK\[[\d.]+(\.TEXT)?\](<\d+\.\d+>)?|BINARY\.SIZE\[[\d.]+\])\)$/,
    when: (a, b) => equalButRfc822Crlf(a, b) || trailingCrlfOnly(a, b) || sizeTwoMore(a, b),
    reason:
      'a nested multipart ends at its close delimiter: the CRLF after "--inner--" begins the outer delimiter (RFC 2046 §5.1.1), so Mailstead leaves it out of the nested part; Dovecot counts it in (2 octets and 1 line more on an enclosing message/rfc822)',
  },
  {
    id: 'C11-malformed-mime',
    kind: 'acceptable',
    command: /^FETCH \d+ \((BODY|BODYSTRUCTURE|(BODY|BINARY)\.PEEK\[\d(\.\d)*\.(1|MIME|HEADER|TEXT)\](<\d+\.\d+>)?|BINARY\.SIZE\[\d\.1\])\)$/,
    when: (a, b) =>
      /"garbage" ""/.test(b.join()) || // Dovecot's structure of malformed.eml
      (/\.(1|1\.MIME|HEADER|TEXT)\]/.test(b[0] ?? '') && /\](<\d+>)? (""|0)\)$|\] "RnJvbTogeEB5Cg=="\)$/.test(b[0] ?? '')),
    reason:
      'malformed MIME (fixture malformed.eml): a multipart without boundary is one text/plain part (RFC 2045 §5.2 default for an invalid Content-Type), Dovecot an empty multipart; "Content-Type: garbage" is text/plain (RFC 2045 §5.2), Dovecot "garbage" ""; a base64 message/rfc822 (forbidden, RFC 2046 §5.2.1) is opaque: its .1 section is the part itself, Dovecot parses the base64 text as a header',
  },
  {
    id: 'C12-malformed-address',
    kind: 'acceptable',
    command: /^(FETCH \d+ \((ENVELOPE|ALL)\)|SEARCH FROM "example\.com")$/,
    when: (a, b) => /SYNTAX_ERROR|MISSING_MAILBOX/.test(b.join()) || oneMoreHit(a, b),
    reason:
      'an address missing its ">" or a list with empty members ("To: ,,alice@example.com,"): Mailstead recovers the address, Dovecot writes the UW-IMAP placeholders SYNTAX_ERROR / MISSING_MAILBOX and so does not match FROM "example.com" on it; RFC 9051 §7.5.2 defines neither',
  },
  {
    id: 'C13-lenient-base64',
    kind: 'acceptable',
    command: /^(UID )?FETCH \d+ \(BINARY/,
    when: (a, b) => b.at(-1) === 'TAG NO [PARSE]' && a.at(-1) === 'TAG OK',
    reason:
      'BINARY of a base64 part with characters outside the alphabet: Mailstead ignores them as RFC 2045 §6.8 says ("Any characters outside of the base64 alphabet are to be ignored"), Dovecot refuses with NO [PARSE]; RFC 3516 only requires NO [UNKNOWN-CTE] for an unknown encoding',
  },
  {
    id: 'C14-binary-whole-message',
    kind: 'acceptable',
    command: /^FETCH \d+ \(BINARY(\.PEEK|\.SIZE)\[\]\)$/,
    reason:
      'BINARY[] (empty section) of a single-part message: Mailstead returns the message as stored, Dovecot decodes the body under a header that still says Content-Transfer-Encoding: base64. RFC 3516 §4.1 does not say which; a message whose header contradicts its body is not one to hand a client',
  },
  {
    id: 'C15-binary-unknown-cte-per-part',
    kind: 'acceptable',
    command: /^(UID )?FETCH \d+ \(BINARY/,
    when: (a, b) =>
      b.at(-1) === 'TAG NO [UNKNOWN-CTE]' && /^\* \d+ FETCH \(UID \d+\)$/.test(b[0] ?? '') && (a.at(-1) === 'TAG OK' || same(a, b.slice(1))),
    reason:
      'BINARY of a message with one part in an unknown encoding: Mailstead answers NO [UNKNOWN-CTE] only for that part (RFC 3516 §4.3 ties the error to the section asked for) and decodes the others; Dovecot refuses every part of the message, after an untagged FETCH with only the UID',
  },
  {
    id: 'C16-binary-of-multipart',
    kind: 'acceptable',
    command: /^FETCH 5 \(BINARY\.(PEEK|SIZE)\[1\.1\.2\]\)$/,
    when: (a, b) => a.at(-1) === 'TAG OK' && b.at(-1) === 'TAG OK',
    reason:
      'BINARY of a multipart part: Mailstead returns it as stored (a multipart has no transfer encoding to undo, RFC 2045 §6.4), Dovecot decodes the leaf parts inside and rewrites their headers to "Content-Transfer-Encoding: binary"; RFC 3516 does not define BINARY of a multipart',
  },
  {
    id: 'C19-metadata-entry-order',
    kind: 'acceptable',
    command: /^GETMETADATA \(DEPTH /,
    when: (a, b) => {
      // The same entries with the same values, in another order: Dovecot lists descendants in its dictionary's order.
      const pairs = (lines: string[]) => lines.flatMap((l) => [...l.matchAll(/(\/\S+) ("[^"]*"|NIL)/g)].map((m) => `${m[1]} ${m[2]}`)).sort();
      return same(pairs(a), pairs(b)) && same(a.filter((l) => !l.startsWith('* METADATA')), b.filter((l) => !l.startsWith('* METADATA')));
    },
    reason:
      'GETMETADATA with DEPTH: the same entries and values; Mailstead sends the descendants in name order, Dovecot in the order its attribute dictionary iterates (RFC 5464 §4.2.2 sets no order)',
  },
  {
    id: 'C18-namespace-shared',
    kind: 'acceptable',
    command: /^NAMESPACE$/,
    when: equalAfter((l) => l.replace(/ \(\("Shared\/" "\/"\)\) NIL$/, ' NIL NIL')),
    reason:
      'Mailstead has an other users\' namespace, "Shared/" (RFC 2342 §5: the mailboxes other accounts shared with ACL, RFC 4314); the reference Dovecot is configured without one',
  },
];
