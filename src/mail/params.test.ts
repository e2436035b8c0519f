import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergedParams, rawParams } from './params.js';

test('parameters are unquoted, keys lowercased, comments skipped', () => {
  assert.deepEqual(rawParams('text/plain; Charset="us-ascii" (comment); format=flowed'), [
    { key: 'charset', value: 'us-ascii' },
    { key: 'format', value: 'flowed' },
  ]);
  assert.deepEqual(rawParams('x/y; name="a \\"q\\" b";;delsp=yes'), [
    { key: 'name', value: 'a "q" b' },
    { key: 'delsp', value: 'yes' },
  ]);
  assert.deepEqual(rawParams('text/plain'), []);
});

test('RFC 2231 §3 continuations without encoding merge to the plain key', () => {
  assert.deepEqual(mergedParams('x/y; title*1="b c"; title*0=a; z=1'), ['z', '1', 'title', 'ab c']);
});

test('RFC 2231 §4 encoded segments merge to one key* value, charset and language kept raw', () => {
  assert.deepEqual(mergedParams("x/y; t*0*=us-ascii'en'This%20is%20; t*1*=%2A%2Afun%2A%2A%20; t*2=\"isn't 100%\""), [
    't*',
    "us-ascii'en'This%20is%20%2A%2Afun%2A%2A%20isn't 100%25",
  ]);
  // A plain first segment gets an empty charset and language.
  assert.deepEqual(mergedParams("x/y; name*0=\"a \"; name*1*=b%20c"), ['name*', "''a b%20c"]);
  // A single encoded parameter is passed through as written.
  assert.deepEqual(mergedParams("x/y; filename*=iso-8859-1'fr'r%E9sum%E9.pdf"), ['filename*', "iso-8859-1'fr'r%E9sum%E9.pdf"]);
});

test('a continuation with a gap ends at the gap', () => {
  assert.deepEqual(mergedParams('x/y; n*0=a; n*2=c'), ['n', 'a']);
});
