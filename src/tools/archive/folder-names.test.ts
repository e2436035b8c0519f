import assert from 'node:assert/strict';
import { test } from 'node:test';
import { relativeLevels } from '../safe-path.js';
import { folderDirName, folderFromDirName, LOCK_NAME } from './folder-names.js';

test('ordinary folder names keep the layout of existing archives', () => {
  assert.equal(folderDirName(null), '');
  assert.equal(folderDirName('INBOX'), '');
  assert.equal(folderDirName('inbox'), '');
  assert.equal(folderDirName('Sent'), '.Sent');
  assert.equal(folderDirName('Archive/2019'), '.Archive.2019');
  assert.equal(folderDirName('Archive.2019', '.'), '.Archive.2019');
  assert.equal(folderDirName('v1.2/x'), '.v1&AC4-2.x');
  assert.equal(folderDirName('Entwürfe'), '.Entw&APw-rfe');
});

test('separators, dot levels and control characters become one safe, decodable directory name', () => {
  const cases: Array<[string, string, string]> = [
    ['/', '/', '.&AAA-.&AAA-'],
    ['//', '/', '.&AAA-.&AAA-.&AAA-'],
    ['a//b', '/', '.a.&AAA-.b'],
    ['', '/', '.&AAA-'],
    ['..', '/', '.&AC4-&AC4-'],
    ['.', '/', '.&AC4-'],
    ['a/../../b', '/', '.a.&AC4-&AC4-.&AC4-&AC4-.b'],
    ['.', '.', '.&AAA-.&AAA-'],
    ['..', '.', '.&AAA-.&AAA-.&AAA-'],
    ['x/y', '.', '.x&AC8-y'],
    ['tab\there', '/', '.tab&AAk-here'],
    ['nul\0', '/', '.nul&AAA-'],
  ];
  for (const [folder, delimiter, dir] of cases) {
    assert.equal(folderDirName(folder, delimiter), dir, JSON.stringify(folder));
    assert.deepEqual(relativeLevels(dir), [dir], `${dir} is one safe level`);
    assert.ok(!/[\u0000-\u001f/]/.test(dir));
    if (delimiter === '/' && !folder.includes('\0')) assert.equal(folderFromDirName(dir), folder, `${dir} decodes back`);
  }
});

test('a name too long for a file system, or equal to the lock file, gets a readable prefix and a hash', () => {
  const long = folderDirName('x'.repeat(300));
  assert.equal(long.length, 255);
  assert.match(long, /^\.x+~[0-9a-f]{16}$/);
  assert.notEqual(folderDirName('x'.repeat(301)), long);
  const wide = folderDirName('ü'.repeat(200));
  assert.ok(wide.length <= 255);
  assert.match(wide, /^\.&[A-Za-z0-9+,]+-~[0-9a-f]{16}$|^\.~[0-9a-f]{16}$/, 'not cut inside an mUTF-7 run');
  assert.match(folderDirName('mailstead-archive/lock'), /^\.mailstead-archive\.lock~[0-9a-f]{16}$/);
  assert.notEqual(folderDirName('MAILSTEAD-ARCHIVE/LOCK').toLowerCase(), LOCK_NAME);
});
