/**
 * RFC 5464 §4.2–4.3: GETMETADATA and SETMETADATA. Entry names are taken as
 * sent; what a valid name is belongs to the domain (domain/metadata.ts).
 */
import { Cursor, ParseError } from './cursor.js';
import type { ImapCommandBody } from './types.js';

/** "GETMETADATA" [SP getmetadata-options] SP mailbox SP entries. */
export function parseGetMetadata(c: Cursor): ImapCommandBody {
  c.sp('mailbox name');
  let maxSize: number | null = null;
  let depth: 0 | 1 | 'infinity' = 0;
  if (c.peek() === 0x28) {
    c.list(
      'GETMETADATA options',
      () => {
        const option = c.keyword('GETMETADATA option');
        if (option === 'MAXSIZE') {
          c.sp('MAXSIZE value');
          maxSize = c.number('MAXSIZE value');
        } else if (option === 'DEPTH') {
          c.sp('DEPTH value');
          const value = c.keyword('DEPTH value');
          if (value === '0') depth = 0;
          else if (value === '1') depth = 1;
          else if (value === 'INFINITY') depth = 'infinity';
          else throw new ParseError('DEPTH must be 0, 1 or infinity');
        } else {
          throw new ParseError(`Unknown GETMETADATA option ${option.slice(0, 32)}`);
        }
      },
      false,
    );
    c.sp('mailbox name');
  }
  const mailbox = c.astring('mailbox name');
  c.sp('entry name');
  const entries = c.peek() === 0x28 ? c.list('entry names', () => c.astring('entry name'), false) : [c.astring('entry name')];
  return { name: 'GETMETADATA', mailbox, entries, maxSize, depth };
}

/** "SETMETADATA" SP mailbox SP "(" entry SP value *(SP entry SP value) ")"; value = nstring / literal8. */
export function parseSetMetadata(c: Cursor): ImapCommandBody {
  c.sp('mailbox name');
  const mailbox = c.astring('mailbox name');
  c.sp('entry values');
  const entries = c.list(
    'entry values',
    () => {
      const name = c.astring('entry name');
      c.sp('entry value');
      const first = c.peek();
      if (first === 0x4e || first === 0x6e) {
        if (c.keyword('entry value') !== 'NIL') throw new ParseError('Expected an entry value (string, literal8 or NIL)');
        return { name, value: null };
      }
      return { name, value: c.stringBytes('entry value', true) };
    },
    false,
  );
  return { name: 'SETMETADATA', mailbox, entries };
}
