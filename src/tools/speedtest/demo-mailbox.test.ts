import assert from 'node:assert/strict';
import { test } from 'node:test';
import { demoMessage, prng } from './demo-mailbox.js';

test('the demo mailbox mixes shapes and sizes, with CRLF line ends and long tails up to ~1 MB', () => {
  const rand = prng(42);
  const messages = Array.from({ length: 600 }, (_, i) => demoMessage(i, rand, 'demo@localhost'));
  const shapes = new Set(messages.map((m) => m.shape));
  assert.deepEqual([...shapes].sort(), ['alternative', 'attachment', 'plain']);
  const sizes = messages.map((m) => m.content.length);
  assert.ok(Math.min(...sizes) < 5_000);
  assert.ok(Math.max(...sizes) > 100_000);
  assert.ok(Math.max(...sizes) < 1_500_000);
  for (const m of messages.slice(0, 50)) assert.equal(m.content.includes('\n', 0) && /[^\r]\n/.test(m.content.toString('latin1')), false);
});
