import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { StoreError } from '../types.js';
import { applyFlagOperation, canonicalFlags, hasFlag, parseFlags, serializeFlags } from './flags.js';

const flagArb = fc.oneof(
  fc.constantFrom('\\Seen', '\\seen', '\\ANSWERED', '\\Flagged', '\\Deleted', '\\Draft', '\\Recent', '$Junk', '$junk'),
  fc.stringMatching(/^[A-Za-z$][A-Za-z0-9_$-]{0,8}$/),
);
const flagsArb = fc.array(flagArb, { maxLength: 8 });

describe('canonicalFlags', () => {
  it('orders system flags first, then keywords, with canonical spelling', () => {
    assert.deepEqual(canonicalFlags(['zeta', '\\draft', 'Alpha', '\\SEEN', '\\Answered', '\\Recent', 'alpha']), [
      '\\Answered',
      '\\Seen',
      '\\Draft',
      'Alpha',
      'zeta',
    ]);
    assert.deepEqual(canonicalFlags([]), []);
  });

  it('refuses names the storage format cannot hold', () => {
    for (const bad of ['', 'a b', 'tab\there', 'line\r\n']) {
      assert.throws(() => canonicalFlags([bad]), (err: unknown) => err instanceof StoreError && err.code === 'STORE_INVALID_NAME');
    }
  });

  it('is idempotent, order-independent up to spelling, and round-trips through storage', () => {
    fc.assert(
      fc.property(flagsArb, (flags) => {
        const canonical = canonicalFlags(flags);
        assert.deepEqual(canonicalFlags(canonical), canonical);
        assert.deepEqual(parseFlags(serializeFlags(canonical)), canonical);
        const lower = (xs: string[]) => xs.map((f) => f.toLowerCase());
        assert.deepEqual(lower(canonicalFlags([...flags].reverse())), lower(canonical));
        assert.ok(!hasFlag(canonical, '\\Recent'));
        assert.equal(new Set(lower(canonical)).size, canonical.length);
      }),
    );
  });
});

describe('applyFlagOperation', () => {
  it('adds, removes and replaces case-insensitively, keeping the first spelling', () => {
    const current = canonicalFlags(['\\Seen', 'Work']);
    assert.deepEqual(applyFlagOperation(current, 'add', ['work', '\\flagged']), ['\\Flagged', '\\Seen', 'Work']);
    assert.deepEqual(applyFlagOperation(current, 'remove', ['\\SEEN', 'WORK']), []);
    assert.deepEqual(applyFlagOperation(current, 'replace', ['WORK', 'home']), ['home', 'Work']);
  });

  it('satisfies the set laws', () => {
    fc.assert(
      fc.property(flagsArb, flagsArb, (a, b) => {
        const current = canonicalFlags(a);
        const added = applyFlagOperation(current, 'add', b);
        for (const f of canonicalFlags(b)) assert.ok(hasFlag(added, f));
        for (const f of current) assert.ok(hasFlag(added, f));
        const removed = applyFlagOperation(current, 'remove', b);
        for (const f of canonicalFlags(b)) assert.ok(!hasFlag(removed, f));
        for (const f of current) assert.equal(hasFlag(removed, f), !hasFlag(canonicalFlags(b), f));
        const replaced = applyFlagOperation(current, 'replace', b);
        assert.deepEqual(replaced.map((f) => f.toLowerCase()), canonicalFlags(b).map((f) => f.toLowerCase()));
        assert.deepEqual(applyFlagOperation(replaced, 'replace', b), replaced, 'replace is idempotent');
      }),
    );
  });
});
