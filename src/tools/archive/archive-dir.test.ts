import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { UnsafePathError } from '../safe-path.js';
import { ArchiveDir } from './archive-dir.js';

const base = mkdtempSync(join(tmpdir(), 'mailstead-archive-dir-'));
after(() => rmSync(base, { recursive: true, force: true }));
const content = Buffer.from('Subject: x\r\nDate: Mon, 01 Jan 2024 00:00:00 +0000\r\n\r\nbody\r\n');

test('folders made of separators are stored one level below the root, never beside it', async () => {
  const root = join(base, 'a', 'archive');
  const dir = await ArchiveDir.open(root);
  try {
    for (const folder of ['/', '//', '.', '..', 'a/../../b', '']) {
      await dir.reconcile('imap://u@h', folder, '/');
      const entry = await dir.archive({ source: 'imap://u@h', folder, key: { kind: 'imap', uidValidity: 1, uid: 1 }, content, flags: [], internalDate: null }, '/');
      assert.match(entry.file, /^\.[^/]+\/cur\/[^/]+$/, JSON.stringify(folder));
      assert.ok(await dir.isDurable(entry));
    }
  } finally {
    await dir.close();
  }
  assert.deepEqual(readdirSync(join(base, 'a')), ['archive']);
});

test('a folder directory that is a symbolic link out of the archive is refused before anything is written through it', async () => {
  const root = join(base, 'b', 'archive');
  const outside = join(base, 'b', 'outside');
  mkdirSync(outside, { recursive: true });
  mkdirSync(root, { recursive: true });
  symlinkSync(outside, join(root, '.Sent'));
  const dir = await ArchiveDir.open(root);
  try {
    await assert.rejects(dir.reconcile('imap://u@h', 'Sent', '/'), UnsafePathError);
    await assert.rejects(
      dir.archive({ source: 'imap://u@h', folder: 'Sent', key: { kind: 'imap', uidValidity: 1, uid: 1 }, content, flags: [], internalDate: null }, '/'),
      /symbolic link/,
    );
  } finally {
    await dir.close();
  }
  assert.deepEqual(readdirSync(outside), []);
});

test('a POP3 UIDL too long for a file name is refused, nothing is left in tmp/', async () => {
  const root = join(base, 'c');
  const dir = await ArchiveDir.open(root);
  try {
    await assert.rejects(
      dir.archive({ source: 'pop3://u@h', folder: null, key: { kind: 'pop3', uidl: 'u'.repeat(300) }, content, flags: [], internalDate: null }, '/'),
      UnsafePathError,
    );
  } finally {
    await dir.close();
  }
  assert.deepEqual(readdirSync(join(root, 'tmp')), []);
  assert.deepEqual(readdirSync(join(root, 'cur')), []);
});
