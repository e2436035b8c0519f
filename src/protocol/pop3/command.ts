/**
 * POP3 command parser: one line (without CRLF) in, one typed command out.
 * Keywords are case-insensitive (RFC 1939 §3); arguments are separated by
 * single spaces, but runs of spaces are tolerated as most servers do.
 * Parse errors carry the reply text; the session decides what state allows.
 */

export type Pop3Command =
  | { name: 'CAPA'; args: Record<string, never> }
  | { name: 'STLS'; args: Record<string, never> }
  | { name: 'USER'; args: { user: string } }
  | { name: 'PASS'; args: { password: string } }
  /** mechanism undefined: list mechanisms. initialResponse "=" means empty (RFC 5034 §4). */
  | { name: 'AUTH'; args: { mechanism?: string; initialResponse?: string } }
  | { name: 'STAT'; args: Record<string, never> }
  | { name: 'LIST'; args: { msg?: number } }
  | { name: 'RETR'; args: { msg: number } }
  | { name: 'DELE'; args: { msg: number } }
  | { name: 'NOOP'; args: Record<string, never> }
  | { name: 'RSET'; args: Record<string, never> }
  | { name: 'QUIT'; args: Record<string, never> }
  | { name: 'TOP'; args: { msg: number; lines: number } }
  | { name: 'UIDL'; args: { msg?: number } };

export type Pop3CommandName = Pop3Command['name'];

export interface Pop3ParseError {
  /** Reply text for `-ERR`. */
  error: string;
  /** The keyword as sent (upper-cased, truncated), when there was one. */
  name?: string;
  /** True when the keyword is not a POP3 command at all. */
  unknown?: boolean;
}

const EMPTY: Record<string, never> = {};

/** Longest keyword echoed back in "Unknown command: X" (keywords are 3-4 chars; RFC 2449 §4 allows extensions). */
const MAX_ECHOED_KEYWORD = 40;

/**
 * A message number: positive decimal, no sign (RFC 1939 §3 "msg"). Leading
 * zeros are accepted as Dovecot does; more than 10 digits cannot be a message
 * number of any real maildrop and is refused so no huge integer is built.
 */
function parseMsg(text: string | undefined): number | null {
  if (text === undefined || !/^[0-9]{1,10}$/.test(text)) return null;
  const n = Number(text);
  return n >= 1 ? n : null;
}

/** TOP's line count: non-negative decimal (RFC 1939 §7); very large values clamp to "all lines". */
function parseLineCount(text: string | undefined): number | null {
  if (text === undefined || !/^[0-9]+$/.test(text)) return null;
  return text.length > 15 ? Number.MAX_SAFE_INTEGER : Number(text);
}

export function parsePop3Command(line: string): Pop3Command | Pop3ParseError {
  const space = line.indexOf(' ');
  const keywordRaw = space === -1 ? line : line.slice(0, space);
  const rest = space === -1 ? '' : line.slice(space + 1);
  if (keywordRaw === '') return { error: 'Empty command' };
  const keyword = keywordRaw.toUpperCase();
  const args = rest.split(' ').filter((a) => a !== '');
  const printable = keyword.replace(/[^\x21-\x7e]/g, '?').slice(0, MAX_ECHOED_KEYWORD);

  const noArgs = <N extends 'CAPA' | 'STLS' | 'STAT' | 'NOOP' | 'RSET' | 'QUIT'>(name: N): Pop3Command | Pop3ParseError =>
    args.length === 0 ? ({ name, args: EMPTY } as Pop3Command) : { error: `${name} takes no arguments`, name };

  switch (keyword) {
    case 'CAPA':
    case 'STLS':
    case 'STAT':
    case 'NOOP':
    case 'RSET':
    case 'QUIT':
      return noArgs(keyword);
    case 'USER':
      if (args.length !== 1) return { error: 'USER needs exactly one argument', name: keyword };
      return { name: 'USER', args: { user: args[0] } };
    case 'PASS':
      // The password is the rest of the line: passwords with spaces exist, and
      // RFC 1939 §7 leaves the syntax to the server (Dovecot does the same).
      if (rest === '') return { error: 'PASS needs a password', name: keyword };
      return { name: 'PASS', args: { password: rest } };
    case 'AUTH':
      if (args.length === 0) return { name: 'AUTH', args: {} };
      if (args.length > 2) return { error: 'AUTH takes a mechanism and an optional initial response', name: keyword };
      return {
        name: 'AUTH',
        args: args.length === 2 ? { mechanism: args[0].toUpperCase(), initialResponse: args[1] } : { mechanism: args[0].toUpperCase() },
      };
    case 'LIST':
    case 'UIDL': {
      if (args.length === 0) return { name: keyword, args: {} } as Pop3Command;
      const msg = parseMsg(args[0]);
      if (args.length > 1 || msg === null) return { error: `${keyword} takes an optional message number`, name: keyword };
      return { name: keyword, args: { msg } } as Pop3Command;
    }
    case 'RETR':
    case 'DELE': {
      const msg = parseMsg(args[0]);
      if (args.length !== 1 || msg === null) return { error: `${keyword} needs a message number`, name: keyword };
      return { name: keyword, args: { msg } } as Pop3Command;
    }
    case 'TOP': {
      const msg = parseMsg(args[0]);
      const lines = parseLineCount(args[1]);
      if (args.length !== 2 || msg === null || lines === null) {
        return { error: 'TOP needs a message number and a number of lines', name: keyword };
      }
      return { name: 'TOP', args: { msg, lines } };
    }
    default:
      return { error: `Unknown command: ${printable}`, name: printable, unknown: true };
  }
}
