import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mapFolder, parseMaps } from './mapping.js';

const server = [
  { name: 'INBOX', specialUse: null },
  { name: 'Sent', specialUse: '\\Sent' },
  { name: 'Papierkorb', specialUse: '\\Trash' },
];

test('folders map explicitly, then to SPECIAL-USE folders, then by name', () => {
  const maps = parseMaps(['Old Stuff=Archive/Old', 'inbox.old=INBOX']);
  assert.equal(mapFolder('Old Stuff', maps, server), 'Archive/Old');
  assert.equal(mapFolder('old stuff', maps, server), 'Archive/Old');
  assert.equal(mapFolder('Inbox.old', maps, server), 'INBOX');
  assert.equal(mapFolder('Sent Items', maps, server), 'Sent');
  assert.equal(mapFolder('[Gmail]/Sent Mail', maps, server), 'Sent');
  assert.equal(mapFolder('Deleted Items', maps, server), 'Papierkorb');
  assert.equal(mapFolder('Spam', maps, server), 'Spam');
  assert.equal(mapFolder('inbox', maps, server), 'INBOX');
  assert.equal(mapFolder('Projects/2019', maps, server), 'Projects/2019');
  assert.throws(() => parseMaps(['nothing']), /FROM=TO/);
});
