/**
 * Flags in IMAP syntax. What a flag is (system flags, keywords, \Recent,
 * canonical spelling and order) is decided in domain/flags.ts.
 */
export function flagAtoms(flags: string[]): Array<{ atom: string }> {
  return flags.map((f) => ({ atom: f }));
}
