import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { isInside, printable, readInside, relativeLevels, resolveInside, safeJoin, UnsafePathError } from './safe-path.js';

describe('safe paths', () => {
  const base = mkdtempSync(join(tmpdir(), 'mailstead-safe-path-'));
  const root = join(base, 'root');
  mkdirSync(join(root, 'cur'), { recursive: true });
  writeFileSync(join(root, 'cur', 'in.eml'), 'inside');
  writeFileSync(join(base, 'out.eml'), 'outside');
  symlinkSync(join(base, 'out.eml'), join(root, 'cur', 'link-out.eml'));
  symlinkSync(join(root, 'cur', 'in.eml'), join(root, 'link-in.eml'));
  symlinkSync(base, join(root, '.Out'));
  after(() => rmSync(base, { recursive: true, force: true }));

  test('relativeLevels refuses absolute paths, ".." levels, NUL and over-long names; drops "." and empty levels', () => {
    for (const bad of ['/etc/passwd', '..', '../x', 'a/../../b', 'cur/..', 'a\0b', 'x'.repeat(256), `${'a/'.repeat(2048)}a`]) {
      assert.throws(() => relativeLevels(bad), UnsafePathError, JSON.stringify(bad.slice(0, 20)));
    }
    assert.deepEqual(relativeLevels('./cur//x.eml'), ['cur', 'x.eml']);
    assert.deepEqual(relativeLevels('...'), ['...']);
    assert.deepEqual(relativeLevels('.&AC4-&AC4-/cur/x'), ['.&AC4-&AC4-', 'cur', 'x']);
    assert.deepEqual(relativeLevels(''), []);
  });

  test('safeJoin stays inside its root, whatever the parts', () => {
    assert.equal(safeJoin(root, 'cur', 'in.eml'), join(root, 'cur', 'in.eml'));
    assert.equal(safeJoin(root, ''), root);
    assert.throws(() => safeJoin(root, '..'), UnsafePathError);
    assert.throws(() => safeJoin(root, 'cur', '/etc'), UnsafePathError);
    assert.ok(isInside('/a/b', '/a/b/..c'));
    assert.ok(!isInside('/a/b', '/a/bc'));
    assert.ok(!isInside('/a/b', '/a'));
  });

  test('resolveInside follows symbolic links and refuses those that lead out', async () => {
    assert.equal(await resolveInside(root, 'link-in.eml'), join(root, 'cur', 'in.eml'));
    await assert.rejects(resolveInside(root, 'cur/link-out.eml'), UnsafePathError);
    await assert.rejects(resolveInside(root, '.Out/out.eml'), UnsafePathError);
    await assert.rejects(resolveInside(root, 'cur/none.eml'), { code: 'ENOENT' });
  });

  test('readInside reads regular files only, without blocking on a FIFO, and checks the expected size first', async () => {
    assert.equal((await readInside(root, 'cur/in.eml')).toString(), 'inside');
    await assert.rejects(readInside(root, 'cur/in.eml', 99), /manifest says 99/);
    await assert.rejects(readInside(root, 'cur'), /not a regular file/);
    execFileSync('mkfifo', [join(root, 'cur', 'fifo.eml')]);
    await assert.rejects(readInside(root, 'cur/fifo.eml'), /not a regular file/);
  });

  test('printable escapes control characters', () => {
    assert.equal(printable('a\u0000b\nc\u001bd'), 'a\\u0000b\\u000ac\\u001bd');
  });
});
