/**
 * SASLprep (RFC 4013), the stringprep profile SCRAM applies to passwords
 * (RFC 5802 §2.2), so that a password typed as "I\u00ADX" or with a
 * no-break space derives the same key on client and server.
 *
 * Implemented: mapping (RFC 3454 B.1 to nothing, C.1.2 non-ASCII spaces to
 * SPACE), NFKC normalisation, and the prohibited-output tables that matter for
 * typed passwords (controls, private use, non-characters, surrogates,
 * tagging and change-display characters). Not implemented: the bidi rule of
 * RFC 3454 §6 and the unassigned-code-point check (stored strings, where
 * RFC 4013 §2.5 applies, are ours: we hash what the user set).
 */

/** RFC 3454 B.1: commonly mapped to nothing. */
const MAPPED_TO_NOTHING = /[\u00AD\u034F\u1806\u180B-\u180D\u200B-\u200D\u2060\uFE00-\uFE0F\uFEFF]/gu;
/** RFC 3454 C.1.2: non-ASCII space characters. */
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/gu;
/** RFC 3454 C.2 (controls), C.3 (private use), C.4 (non-characters), C.5 (surrogates), C.8 and C.9. */
const PROHIBITED =
  /[\u0000-\u001F\u007F-\u009F\u06DD\u070F\u180E\u200C\u200D\u2028\u2029\u2060-\u2063\u206A-\u206F\uFEFF\uFFF9-\uFFFC\u{1D173}-\u{1D17A}\uE000-\uF8FF\u{F0000}-\u{FFFFD}\u{100000}-\u{10FFFD}\uFDD0-\uFDEF\uFFFE\uFFFF\u{1FFFE}\u{1FFFF}\u{EFFFE}\u{EFFFF}\uD800-\uDFFF\u0340\u0341\u200E\u200F\u202A-\u202E\u206A-\u206F\u{E0001}\u{E0020}-\u{E007F}]/u;

/** The prepared string, or null when it holds a prohibited character. */
export function saslPrep(input: string): string | null {
  const mapped = input.replace(MAPPED_TO_NOTHING, '').replace(NON_ASCII_SPACE, ' ').normalize('NFKC');
  if (PROHIBITED.test(mapped)) return null;
  return mapped;
}
