/**
 * Maildir info flags (":2,DFPRST", cr.yp.to/proto/maildir.html) and IMAP
 * flags. P (passed, forwarded) has no IMAP system flag: it maps to the
 * $Forwarded keyword (RFC 5788 registry), as Dovecot does. T (trashed) maps
 * to \Deleted, also as Dovecot does: the message is imported, marked for
 * expunge, and a client decides. Lower-case letters are Dovecot keyword
 * indexes into a dovecot-keywords file; we do not read that file.
 */

const LETTER_TO_FLAG: Record<string, string> = {
  D: '\\Draft',
  F: '\\Flagged',
  P: '$Forwarded',
  R: '\\Answered',
  S: '\\Seen',
  T: '\\Deleted',
};

export function maildirLettersToFlags(letters: string): string[] {
  const flags: string[] = [];
  for (const ch of letters) {
    const flag = LETTER_TO_FLAG[ch];
    if (flag && !flags.includes(flag)) flags.push(flag);
  }
  return flags;
}

/** The info letters for these flags, in ASCII order as the Maildir spec asks. */
export function flagsToMaildirLetters(flags: readonly string[]): string {
  const wanted = new Set(flags.map((f) => f.toLowerCase()));
  return Object.entries(LETTER_TO_FLAG)
    .filter(([, flag]) => wanted.has(flag.toLowerCase()))
    .map(([letter]) => letter)
    .sort()
    .join('');
}

/** Splits "1700000000.M1P2.host,S=12:2,FS" into its base and the letters after ":2,". */
export function splitMaildirName(name: string): { base: string; letters: string } {
  const colon = name.lastIndexOf(':2,');
  if (colon === -1) return { base: name, letters: '' };
  return { base: name.slice(0, colon), letters: name.slice(colon + 3) };
}
