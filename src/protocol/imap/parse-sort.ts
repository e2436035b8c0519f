/**
 * SORT and THREAD arguments (RFC 5256 §3, RFC 5957 DISPLAYFROM/DISPLAYTO):
 *   sort   = ["UID" SP] "SORT" SP sort-criteria SP search-criteria
 *   thread = ["UID" SP] "THREAD" SP thread-alg SP search-criteria
 *   search-criteria = charset 1*(SP search-key)
 * Unlike SEARCH, the charset is mandatory.
 */
import { Cursor, ParseError } from './cursor.js';
import { parseReturnOptions, programIn, type searchProgramKeys } from './parse-search.js';
import type { ImapCommandBody, SortCriterion, SortKey } from './types.js';

const SORT_KEYS: readonly SortKey[] = ['ARRIVAL', 'CC', 'DATE', 'FROM', 'SIZE', 'SUBJECT', 'TO', 'DISPLAYFROM', 'DISPLAYTO'];

/** sort-criteria = "(" sort-criterion *(SP sort-criterion) ")"; sort-criterion = ["REVERSE" SP] sort-key. */
function sortCriteria(c: Cursor): SortCriterion[] {
  return c.list(
    'sort criteria',
    () => {
      let key = c.keyword('sort key');
      let reverse = false;
      if (key === 'REVERSE') {
        reverse = true;
        c.sp('sort key after REVERSE');
        key = c.keyword('sort key after REVERSE');
      }
      if (!(SORT_KEYS as readonly string[]).includes(key)) throw new ParseError(`Unknown sort key ${key}`);
      return { key: key as SortKey, reverse };
    },
    false,
  );
}

function charsetThenKeys(c: Cursor): { charset: string; key: ReturnType<typeof searchProgramKeys> } {
  c.sp('charset');
  const charset = c.astring('charset');
  c.sp('search criteria');
  return { charset, key: programIn(c, charset) };
}

/** sort = ["UID" SP] "SORT" [SP "RETURN" SP "(" return-opts ")"] SP sort-criteria SP search-criteria (RFC 5267 §3.2 ESORT). */
export function parseSort(c: Cursor, uid: boolean): ImapCommandBody {
  c.sp('sort criteria');
  let esort: ReturnType<typeof parseReturnOptions> | null = null;
  if (c.peek() !== 0x28) {
    if (c.keyword('sort criteria') !== 'RETURN') throw new ParseError('Expected "(" to start sort criteria');
    c.sp('RETURN options');
    esort = parseReturnOptions(c);
    c.sp('sort criteria');
  }
  const criteria = sortCriteria(c);
  return { name: 'SORT', uid, criteria, ...charsetThenKeys(c), ...(esort ?? {}) };
}

export function parseThread(c: Cursor, uid: boolean): ImapCommandBody {
  c.sp('threading algorithm');
  const algorithm = c.keyword('threading algorithm');
  return { name: 'THREAD', uid, algorithm, ...charsetThenKeys(c) };
}
