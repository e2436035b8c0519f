/**
 * IMAP dates (RFC 9051 §9): `date` for SEARCH ("1-Feb-1994") and `date-time`
 * for INTERNALDATE and APPEND ("17-Jul-1996 02:44:25 -0700").
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH_INDEX = new Map(MONTHS.map((m, i) => [m.toUpperCase(), i]));

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function daysInMonth(year: number, month0: number): number {
  if (month0 !== 1) return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month0];
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
}

/**
 * Date -> RFC 9051 date-time in UTC, e.g. "07-Jul-1996 09:44:25 +0000".
 * date-day-fixed allows (SP DIGIT) or 2DIGIT; the zero-padded form is used
 * because some clients split on spaces.
 */
export function formatDateTime(d: Date): string {
  return (
    `${pad(d.getUTCDate(), 2)}-${MONTHS[d.getUTCMonth()]}-${pad(d.getUTCFullYear(), 4)} ` +
    `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)} +0000`
  );
}

const DATE_TEXT = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/;
const DATE_TIME = /^ ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/;

function validDay(day: number, month: string, year: number): number | null {
  const month0 = MONTH_INDEX.get(month.toUpperCase());
  if (month0 === undefined) return null;
  if (day < 1 || day > daysInMonth(year, month0)) return null;
  return month0;
}

/** RFC 9051 date-text ("1-Feb-1994", month case-insensitive) -> "1994-02-01"; null when invalid. */
export function parseDate(s: string): string | null {
  const m = DATE_TEXT.exec(s);
  if (!m) return null;
  const day = Number(m[1]);
  const year = Number(m[3]);
  const month0 = validDay(day, m[2], year);
  if (month0 === null) return null;
  return `${pad(year, 4)}-${pad(month0 + 1, 2)}-${pad(day, 2)}`;
}

/**
 * RFC 9051 date-time without its quotes ("17-Jul-1996 02:44:25 -0700", day
 * may be " 7" or "07"; a one-digit "7" is accepted too) -> Date; null when invalid.
 */
export function parseDateTime(s: string): Date | null {
  const m = DATE_TIME.exec(s);
  if (!m) return null;
  const day = Number(m[1]);
  const year = Number(m[3]);
  const month0 = validDay(day, m[2], year);
  if (month0 === null) return null;
  const [hh, mm, ss, zh, zm] = [m[4], m[5], m[6], m[8], m[9]].map(Number);
  if (hh > 23 || mm > 59 || ss > 60 || zh > 23 || zm > 59) return null;
  const offsetMinutes = (m[7] === '-' ? -1 : 1) * (zh * 60 + zm);
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  const local = new Date(0);
  local.setUTCFullYear(year, month0, day);
  local.setUTCHours(hh, mm, Math.min(ss, 59), 0); // a leap second is folded into :59
  return new Date(local.getTime() - offsetMinutes * 60_000);
}
