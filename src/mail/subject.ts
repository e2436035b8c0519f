/**
 * Base subject extraction (RFC 5256 §2.1), used by SORT SUBJECT and THREAD.
 * The input is the Subject field already unfolded and RFC 2047-decoded.
 */

export interface BaseSubject {
  /** The base subject, lower-cased for comparison (a stand-in for i;unicode-casemap). */
  base: string;
  /** A reply or forward marker was removed: "Re:", "Fwd:", "(fwd)" or "[fwd: ...]" (§2.1, used by REFERENCES §5 step 4). */
  replyOrForward: boolean;
}

const TRAILER = /(\(fwd\)|[ \t])$/i;
/** subj-leader = (*subj-blob subj-refwd) / WSP; subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":". */
const LEADER = /^(?:((?:\[[^[\]]*\][ \t]*)*(?:re|fwd?)[ \t]*(?:\[[^[\]]*\][ \t]*)?:)|[ \t])/i;
const BLOB = /^\[[^[\]]*\][ \t]*/;

/**
 * Characters of the subject the base subject is computed from. The leader and
 * trailer steps below rescan the subject once per marker they remove, which is
 * quadratic in the length; real subjects are far shorter (a line is at most
 * 998 octets, RFC 5322 §2.1.1), and two subjects that agree on this many
 * characters sort and thread together.
 */
export const SUBJECT_MAX_CHARS = 2048;

export function baseSubject(decoded: string): BaseSubject {
  // Step 1: tabs and line breaks become spaces; runs of spaces become one.
  let s = decoded.slice(0, SUBJECT_MAX_CHARS).replace(/[\t\r\n]/g, ' ').replace(/ {2,}/g, ' ');
  let replyOrForward = false;
  for (;;) {
    // Step 2: trailers, repeatedly.
    for (let m = TRAILER.exec(s); m; m = TRAILER.exec(s)) {
      if (m[1] !== ' ' && m[1] !== '\t') replyOrForward = true;
      s = s.slice(0, s.length - m[1]!.length);
    }
    // Steps 3-5: leaders and a leading blob that leaves a non-empty base, until nothing changes.
    for (let changed = true; changed; ) {
      changed = false;
      for (let m = LEADER.exec(s); m; m = LEADER.exec(s)) {
        if (m[1] !== undefined) replyOrForward = true;
        s = s.slice(m[0].length);
        changed = true;
      }
      const blob = BLOB.exec(s);
      if (blob && /\S/.test(s.slice(blob[0].length))) {
        s = s.slice(blob[0].length);
        changed = true;
      }
    }
    // Step 6: "[fwd: ... ]" wraps the whole subject: unwrap and start again from step 2.
    if (/^\[fwd:/i.test(s) && s.endsWith(']')) {
      s = s.slice(5, -1);
      replyOrForward = true;
      continue;
    }
    return { base: s.toLowerCase(), replyOrForward };
  }
}
