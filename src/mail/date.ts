/**
 * Tolerant RFC 5322 §3.3 date-time parsing (with the obsolete forms of §4.3),
 * for SEARCH SENTBEFORE/SENTON/SENTSINCE.
 */

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** obs-zone (RFC 5322 §4.3); military letters are "-0000" since their sign was historically reversed. */
const ZONES: Record<string, number> = {
  ut: 0, gmt: 0, z: 0, utc: 0,
  est: -5 * 60, edt: -4 * 60, cst: -6 * 60, cdt: -5 * 60,
  mst: -7 * 60, mdt: -6 * 60, pst: -8 * 60, pdt: -7 * 60,
};

const DATE_TIME =
  /^(?:[a-z]+\s*,?\s*)?(\d{1,2})[\s-]*([a-z]{3})[a-z]*\.?[\s-]*(\d{2,4})\s+(\d{1,2})[:.](\d{1,2})(?:[:.](\d{1,2}))?\s*([+-]\d{2}:?\d{2}|[a-z]{1,5})?/;

function stripComments(s: string): string {
  let out = '';
  let depth = 0;
  for (const c of s) {
    if (c === '(') depth++;
    else if (c === ')' && depth > 0) depth--;
    else if (depth === 0) out += c;
  }
  return out;
}

function zoneMinutes(zone: string | undefined): number {
  if (!zone) return 0;
  const numeric = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  if (numeric) {
    const minutes = Number(numeric[2]) * 60 + Number(numeric[3]);
    return numeric[1] === '-' ? -minutes : minutes;
  }
  return ZONES[zone] ?? 0;
}

/** The instant a Date header names, or null when it cannot be read. */
export function parseMailDate(value: string): Date | null {
  return parseMailDateZoned(value)?.date ?? null;
}

/**
 * The calendar day (YYYY-MM-DD) a Date header names in its own zone, or null.
 * RFC 9051 §6.4.4 compares SENTBEFORE/SENTON/SENTSINCE "disregarding time and
 * timezone": "Sun, 25 Mar 2007 00:00:00 +0200" is on the 25th, though it is
 * the 24th in UTC.
 */
export function parseMailDay(value: string): string | null {
  const zoned = parseMailDateZoned(value);
  return zoned ? new Date(zoned.date.getTime() + zoned.zoneMinutes * 60_000).toISOString().slice(0, 10) : null;
}

function parseMailDateZoned(value: string): { date: Date; zoneMinutes: number } | null {
  const text = stripComments(value).trim().toLowerCase();
  const m = DATE_TIME.exec(text);
  if (m) {
    const day = Number(m[1]);
    const month = MONTHS.indexOf(m[2]!);
    let year = Number(m[3]);
    // RFC 5322 §4.3: two-digit years below 50 are 20xx, others 19xx; three digits add 1900.
    if (m[3]!.length === 2) year += year < 50 ? 2000 : 1900;
    else if (m[3]!.length === 3) year += 1900;
    const hour = Number(m[4]);
    const minute = Number(m[5]);
    const second = m[6] === undefined ? 0 : Number(m[6]);
    if (month >= 0 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 && second <= 60) {
      const zone = zoneMinutes(m[7]);
      const utc = Date.UTC(year, month, day, hour, minute, Math.min(second, 59)) - zone * 60_000;
      return { date: new Date(utc), zoneMinutes: zone };
    }
  }
  const fallback = Date.parse(value);
  return Number.isNaN(fallback) ? null : { date: new Date(fallback), zoneMinutes: 0 };
}
