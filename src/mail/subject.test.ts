import assert from 'node:assert/strict';
import { test } from 'node:test';
import { baseSubject } from './subject.js';

test('base subject extraction (RFC 5256 §2.1)', () => {
  const cases: Array<[string, string, boolean]> = [
    ['Hello', 'hello', false],
    ['Re: Hello', 'hello', true],
    ['RE: re: Fwd:  Hello  ', 'hello', true],
    ['Re[2]: Hello', 'hello', true],
    ['[list] Re: Hello', 'hello', true],
    ['[list] Hello', 'hello', false],
    ['[list]', '[list]', false],
    ['Hello (fwd)', 'hello', true],
    ['[Fwd: Re: Hello]', 'hello', true],
    ['Fw: [Fwd: Hello (fwd)]', 'hello', true],
    ['Re:', '', true],
    ['\tRe:\tHello\tthere', 'hello there', true],
    ['Reply: x', 'reply: x', false],
  ];
  for (const [input, base, reply] of cases) {
    assert.deepEqual(baseSubject(input), { base, replyOrForward: reply }, input);
  }
});
