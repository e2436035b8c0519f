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

const sorted = (lines: string[]) => [...lines].sort();
const same = (a: string[], b: string[]) => JSON.stringify(a) === JSON.stringify(b);
/** Equal once `f` is applied to every line of both answers. */
const equalAfter = (f: (line: string) => string) => (a: string[], b: string[]) => same(sorted(a.map(f)), sorted(b.map(f)));

export const KNOWN: KnownDifference[] = [
  {
    id: 'C1-no-recent',
    kind: 'acceptable',
    command: /^(FETCH \d+ \((FLAGS|FAST|ALL)\)|SEARCH (NEW|OLD|RECENT)|EXAMINE |SELECT )/,
    when: (a, b) =>
      equalAfter((l) => l.replace(/ ?\\Recent/g, '').replace(/\(\s/, '(').replace(/^\* \d+ RECENT$/, '* n RECENT'))(a, b) ||
      /SEARCH (NEW|OLD|RECENT)/.test(a.join()) ||
      a.some((l) => /^\* SEARCH/.test(l)),
    reason: 'Mailstead has no \\Recent (removed in IMAP4rev2, RFC 9051 §2.3.2): RECENT is always 0, NEW/RECENT match nothing, OLD everything',
  },
  {
    id: 'C2-nonexistent-part',
    kind: 'acceptable',
    command: /^FETCH \d+ \(BODY\.PEEK\[[\d.]+(\.MIME)?\]/,
    when: equalAfter((l) => l.replace(/(BODY\[[\d.A-Z]+\]) (NIL|"")/, '$1 EMPTY')),
    reason: 'a section that does not exist: Mailstead answers NIL (as Cyrus), Dovecot an empty string; RFC 9051 §6.4.5 does not say',
  },
  {
    id: 'C3-default-content-type-case',
    kind: 'acceptable',
    command: /^FETCH \d+ \((BODY|BODYSTRUCTURE)\)$/,
    when: equalAfter((l) => l.toLowerCase()),
    reason: 'for a message without Content-Type Mailstead writes the RFC 2045 default as "TEXT" "PLAIN" ("charset" "US-ASCII") (as the RFC 9051 examples), Dovecot in lower case; values are case-insensitive',
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
    command: /^LIST (\(SPECIAL-USE\) |\(SUBSCRIBED\) |"" "\*" RETURN)/,
    when: equalAfter((l) => l.replace(/ ?\\(HasNoChildren|HasChildren|Archive|Drafts|Junk|Sent|Trash)\b/g, '').replace(/\(\s/, '(')),
    reason: 'Mailstead always returns \\HasChildren/\\HasNoChildren and special-use attributes; Dovecot only when asked. RFC 5258 §4 and RFC 6154 §2 allow both',
  },
  {
    id: 'C7-status-selected-clientbug',
    kind: 'acceptable',
    command: /^STATUS INBOX /,
    when: (a, b) => same(a.slice(0, -1), b.slice(0, -1)) && b.at(-1) === 'TAG OK [CLIENTBUG]' && a.at(-1) === 'TAG OK',
    reason: 'STATUS on the selected mailbox: Dovecot adds the informational [CLIENTBUG] code (RFC 9051 §6.3.11 discourages it); the data are equal',
  },
  {
    id: 'C8-nonexistent-code',
    kind: 'acceptable',
    command: /^STATUS Nonexistent /,
    when: (a, b) => a.at(-1) === 'TAG NO [NONEXISTENT]' && b.at(-1) === 'TAG NO',
    reason: 'Mailstead adds the [NONEXISTENT] response code (RFC 5530) for a missing mailbox',
  },
  {
    id: 'C9-select-list-and-order',
    kind: 'acceptable',
    command: /^(SELECT|EXAMINE) /,
    when: (a, b) =>
      same(
        sorted(a.filter((l) => !/^\* LIST /.test(l)).map((l) => l.replace(/^\* \d+ RECENT$/, '* n RECENT'))),
        sorted(b.map((l) => l.replace(/^\* \d+ RECENT$/, '* n RECENT'))),
      ),
    reason: 'Mailstead sends the untagged LIST that RFC 9051 §6.3.2 requires in a SELECT reply (also to rev1 clients, which must accept any untagged response, RFC 3501 §7) and orders the untagged data differently',
  },
  {
    id: 'B1-text-search-attached-headers',
    kind: 'bug',
    command: /^SEARCH (TEXT|BODY) "Message-ID"$/,
    reason: 'TEXT/BODY do not match the header lines of an attached message/rfc822 part, which are body text of the outer message (RFC 9051 §6.4.4)',
  },
];
