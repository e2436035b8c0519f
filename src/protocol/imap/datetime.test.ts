import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatDateTime, parseDate, parseDateTime } from './datetime.js';

test('formatDateTime writes zero-padded UTC date-time', () => {
  assert.equal(formatDateTime(new Date(Date.UTC(1996, 6, 7, 9, 44, 25))), '07-Jul-1996 09:44:25 +0000');
  assert.equal(formatDateTime(new Date(Date.UTC(2024, 11, 31, 23, 59, 59))), '31-Dec-2024 23:59:59 +0000');
});

test('parseDateTime honours the zone and both day forms', () => {
  const expected = Date.UTC(1996, 6, 17, 9, 44, 25);
  assert.equal(parseDateTime('17-Jul-1996 02:44:25 -0700')?.getTime(), expected);
  assert.equal(parseDateTime(' 7-Jul-1996 02:44:25 +0000')?.getTime(), Date.UTC(1996, 6, 7, 2, 44, 25));
  assert.equal(parseDateTime('07-jul-1996 02:44:25 +0130')?.getTime(), Date.UTC(1996, 6, 7, 1, 14, 25));
  for (const bad of ['17-Jul-1996', '32-Jul-1996 02:44:25 +0000', '29-Feb-2023 00:00:00 +0000', '17-Jux-1996 02:44:25 +0000', '17-Jul-1996 24:00:00 +0000', '17-Jul-1996 02:44:25 0700', '']) {
    assert.equal(parseDateTime(bad), null, bad);
  }
  assert.ok(parseDateTime('29-Feb-2024 00:00:00 +0000'));
});

test('parseDate converts to YYYY-MM-DD', () => {
  assert.equal(parseDate('1-Feb-1994'), '1994-02-01');
  assert.equal(parseDate('01-FEB-1994'), '1994-02-01');
  assert.equal(parseDate('31-Dec-2000'), '2000-12-31');
  for (const bad of ['0-Feb-1994', '30-Feb-2000', '1-Feb-94', '1994-02-01', '1 Feb 1994', '001-Feb-1994']) {
    assert.equal(parseDate(bad), null, bad);
  }
});

test('format -> parse is the identity at second precision', () => {
  fc.assert(
    fc.property(fc.integer({ min: Date.UTC(1, 0, 1), max: Date.UTC(9999, 11, 31) }), (ms) => {
      const d = new Date(Math.floor(ms / 1000) * 1000);
      assert.equal(parseDateTime(formatDateTime(d))?.getTime(), d.getTime());
    }),
  );
});
