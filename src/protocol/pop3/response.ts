/**
 * POP3 responses as typed values and their one encoder. No handler writes
 * "+OK", "-ERR" or CRLF itself.
 *
 *   +OK text                      single-line success (RFC 1939 §3)
 *   -ERR [CODE] text              failure with an RFC 2449 §8 response code
 *   +OK text / lines / .          multi-line (CAPA, LIST, UIDL): lines dot-stuffed
 *   + base64                      SASL continuation (RFC 5034 §4)
 *
 * Message bodies (RETR, TOP) are not encoded here: they stream through
 * `DotStuffer` after a single-line `+OK`.
 */

/** RFC 2449 §8 (IN-USE, LOGIN-DELAY), RFC 3206 (SYS/TEMP, SYS/PERM, AUTH). */
export type Pop3RespCode = 'IN-USE' | 'LOGIN-DELAY' | 'AUTH' | 'SYS/TEMP' | 'SYS/PERM';

export type Pop3Response =
  | { kind: 'ok'; text: string; lines?: string[] }
  | { kind: 'err'; code?: Pop3RespCode; text: string }
  | { kind: 'continue'; challenge: string };

export const ok = (text: string, lines?: string[]): Pop3Response => (lines ? { kind: 'ok', text, lines } : { kind: 'ok', text });
export const err = (text: string, code?: Pop3RespCode): Pop3Response => (code ? { kind: 'err', code, text } : { kind: 'err', text });

/** Text may echo client input ("Unknown command: X"): a CR or LF in it would forge a response line. */
function sanitise(text: string): string {
  return text.replace(/[\r\n\0]/g, ' ');
}

export function encodePop3Response(response: Pop3Response): string {
  switch (response.kind) {
    case 'ok': {
      const status = response.text === '' ? '+OK\r\n' : `+OK ${sanitise(response.text)}\r\n`;
      if (!response.lines) return status;
      // RFC 1939 §3: a line of a multi-line response that begins with "." gets another ".".
      const body = response.lines.map((l) => {
        const line = sanitise(l);
        return (line.startsWith('.') ? '.' + line : line) + '\r\n';
      });
      return status + body.join('') + '.\r\n';
    }
    case 'err': {
      const code = response.code ? `[${response.code}] ` : '';
      return `-ERR ${code}${sanitise(response.text)}\r\n`;
    }
    case 'continue':
      // RFC 5034 §4: "+" SP base64; an empty challenge is "+ " alone.
      return `+ ${sanitise(response.challenge)}\r\n`;
  }
}
