/**
 * Reliability cases R001-R059: hostile IMAP input over TLS, byte for byte
 * (literals, NUL, nesting, floods, sequence sets, partial offsets, SASL,
 * injection in user and mailbox names, slowloris, a client that never reads,
 * and sessions racing each other).
 */
import assert from 'node:assert/strict';
import { type AnswerClass, CANARY_NOOP_MS, type Case, message, reliabilitySuite, rssKiB, type Wire } from './harness.js';

const MiB = 1024 * 1024;
const BIG_MESSAGE_BYTES = 6 * MiB;

/** Sends `a NOOP` (or the given tag) and returns its class: the session still works. */
async function noop(w: Wire, tag = 'z'): Promise<AnswerClass> {
  w.mark();
  await w.send(`${tag} NOOP\r\n`);
  return w.imapAnswer(tag);
}

/** Sends one command line and returns the class of its completion. */
async function cmd(w: Wire, tag: string, line: string | Buffer): Promise<ReturnType<Wire['imapAnswer']>> {
  w.mark();
  await w.send(typeof line === 'string' ? `${tag} ${line}\r\n` : Buffer.concat([Buffer.from(`${tag} `), line, Buffer.from('\r\n')]));
  return w.imapAnswer(tag);
}

const cases: Case[] = [
  // ------------------------------------------------------------ literals
  {
    id: 'R001',
    title: 'APPEND with a 2^32-octet literal: NO [TOOBIG] before any "+", session goes on',
    sends: 'a APPEND INBOX {4294967296}\\r\\n',
    expect: ['NO', 'OK'],
    async run(t) {
      const w = await t.imap({ login: t.users.alice });
      const cls = await cmd(w, 'a', 'APPEND INBOX {4294967296}');
      assert.match(w.tagged('a'), /^a NO \[TOOBIG\]/);
      assert.doesNotMatch(w.text(), /\r\n\+ /);
      return [cls, await noop(w)];
    },
  },
  {
    id: 'R002',
    title: 'APPEND with a 2^64-octet literal (overflows 64 bits): NO [TOOBIG], no "+"',
    sends: 'a APPEND INBOX {18446744073709551616}\\r\\n',
    expect: ['NO', 'OK'],
    async run(t) {
      const w = await t.imap({ login: t.users.alice });
      const cls = await cmd(w, 'a', 'APPEND INBOX {18446744073709551616}');
      assert.match(w.tagged('a'), /^a NO \[TOOBIG\]/);
      assert.doesNotMatch(w.text(), /\r\n\+ /);
      return [cls, await noop(w)];
    },
  },
  {
    id: 'R003',
    title: 'a 23-digit literal size is no literal at all: BAD, no "+"',
    sends: 'a APPEND INBOX {99999999999999999999999}\\r\\n',
    expect: ['BAD', 'OK'],
    async run(t) {
      const w = await t.imap({ login: t.users.alice });
      const cls = await cmd(w, 'a', 'APPEND INBOX {99999999999999999999999}');
      assert.doesNotMatch(w.text(), /\r\n\+ /);
      return [cls, await noop(w)];
    },
  },
  {
    id: 'R004',
    title: 'LOGIN with a 2^32-octet literal before login: NO [TOOBIG], no "+"',
    sends: 'a LOGIN {4294967296}\\r\\n',
    expect: ['NO', 'OK'],
    async run(t) {
      const w = await t.imap();
      const cls = await cmd(w, 'a', 'LOGIN {4294967296}');
      assert.match(w.tagged('a'), /^a NO \[TOOBIG\]/);
      assert.doesNotMatch(w.text(), /\r\n\+ /);
      return [cls, await noop(w)];
    },
  },
  {
    id: 'R005',
    title: 'a 100 MB synchronising literal sent without waiting for "+": NO [TOOBIG] at once, the bytes are one over-long line, memory flat',
    sends: 'a APPEND INBOX {104857600}\\r\\n + 100 MiB of "x" + \\r\\nz NOOP\\r\\n, all without reading',
    expect: ['NO', 'NO', 'OK'],
    async run(t) {
      const w = await t.imap({ login: t.users.alice });
      const pid = t.server.process.pid!;
      const before = rssKiB(pid);
      await w.send('a APPEND INBOX {104857600}\r\n');
      await w.flood(100 * MiB, Buffer.alloc(MiB, 'x'));
      await w.send('\r\nz NOOP\r\n');
      const z = await w.imapAnswer('z', 120_000);
      const grown = rssKiB(pid) - before;
      assert.ok(grown < 64 * 1024, `RSS grew ${grown} KiB`);
      // The 100 MB of "x" were one over-long line: answered NO [TOOBIG] Command line too long.
      assert.match(w.text(), /\r\n\S+ NO \[TOOBIG\] Command line too long\r\n/);
      assert.doesNotMatch(w.text(), /\r\n\+ /);
      return [await w.imapAnswer('a'), 'NO', z];
    },
  },
  {
    id: 'R006',
    title: 'a 100 MB non-synchronising literal ({N+}) over the message limit: skipped unbuffered, NO [TOOBIG], session goes on',
    sends: 'a APPEND INBOX {104857600+}\\r\\n + 100 MiB + \\r\\nz NOOP\\r\\n',
    expect: ['NO', 'OK'],
    async run(t) {
      const w = await t.imap({ login: t.users.alice });
      const before = await t.count(t.users.alice);
      await w.send('a APPEND INBOX {104857600+}\r\n');
      await w.flood(100 * MiB, Buffer.from('line of a message that is far too big\r\n'.repeat(26000)));
      await w.send('\r\nz NOOP\r\n');
      const z = await w.imapAnswer('z', 120_000);
      assert.equal(await t.count(t.users.alice), before);
      return [await w.imapAnswer('a'), z];
    },
  },
  {
    id: 'R007',
    title: 'an 8 MB non-synchronising literal before login (LITERAL-): BAD [TOOBIG], its bytes never read as commands',
    sends: 'a LOGIN {8388608+}\\r\\n + 8 MiB of "b NOOP\\r\\n" + \\r\\nz NOOP\\r\\n',
    expect: ['BAD', 'OK'],
    async run(t) {
      const w = await t.imap();
      await w.send('a LOGIN {8388608+}\r\n');
      await w.flood(8 * MiB, Buffer.from('b NOOP\r\n'.repeat(131072)));
      await w.send('\r\nz NOOP\r\n');
      const z = await w.imapAnswer('z');
      assert.doesNotMatch(w.text(), /\r\nb OK/);
      return [await w.imapAnswer('a'), z];
    },
  },
  {
    id: 'R008',
    title: 'several literals chained to grow one command past the limit: NO [TOOBIG]',
    sends: 'a SEARCH TEXT {65536+}\\r\\n<64 KiB> TEXT {65536}\\r\\n',
    expect: ['NO', 'OK'],
    async run(t) {
      const w = await t.imap({ login: t.users.alice, select: 'INBOX' });
      await w.send(Buffer.concat([Buffer.from('a SEARCH TEXT {65536+}\r\n'), Buffer.alloc(65536, 'q'), Buffer.from(' TEXT {65536}\r\n')]));
      const cls = await w.imapAnswer('a');
      return [cls, await noop(w)];
    },
  },
  // ------------------------------------------------------------ NUL
  {
    id: 'R009',
    title: 'NUL inside a quoted string: BAD (RFC 9051 §4.3: quoted strings hold no NUL)',
    sends: 'a LOGIN "al\\0ice@example.com" "x"\\r\\n',
    expect: ['BAD', 'OK'],
    async run(t) {
      const w = await t.imap();
      const cls = await cmd(w, 'a', Buffer.from('LOGIN "al\0ice@example.com" "x"', 'latin1'));
      return [cls, await noop(w)];
    },
  },
  {
    id: 'R010',
    title: 'NUL inside a LOGIN literal: refused like any wrong login, no echo of the bytes',
    sends: 'a LOGIN {18}\\r\\nalice\\0@example.com "<alice password>"\\r\\n',
    expect: ['NO', 'OK'],
    async run(t) {
      const w = await t.imap();
      await w.send('a LOGIN {18}\r\n');
      await w.waitFor(/(?:^|\r\n)\+ [^\r\n]*\r\n/);
      w.mark();
      await w.send(Buffer.from(`alice\0@example.com "${t.users.alice.password}"\r\n`, 'latin1'));
      const cls = await w.imapAnswer('a');
      return [cls, await noop(w)];
    },
  },
  {
    id: 'R011',
    title: 'NUL inside an APPEND literal: NO [UNKNOWN-CTE] (RFC 3516 §4.4), nothing stored',
    sends: 'a APPEND INBOX {N}\\r\\n<message with \\0 in its body>',
    expect: ['NO', 'OK'],
    async run(t) {
      const w = await t.imap({ login: t.users.alice });
      const before = await t.count(t.users.alice);
      const msg = Buffer.from(message('nul', 'one\0two\r\n'), 'latin1');
      await w.send(`a APPEND INBOX {${msg.length}}\r\n`);
      await w.waitFor(/(?:^|\r\n)\+ [^\r\n]*\r\n/);
      w.mark();
      await w.send(Buffer.concat([msg, Buffer.from('\r\n')]));
      const cls = await w.imapAnswer('a');
      assert.match(w.tagged('a'), /UNKNOWN-CTE/);
      assert.equal(await t.count(t.users.alice), before);
      return [cls, await noop(w)];
    },
  },
  {
    id: 'R012',
    title: 'NUL inside a SEARCH literal: answered (no crash), session goes on',
    sends: 's SEARCH TEXT {3+}\\r\\na\\0b\\r\\n',
    expect: ['OK', 'OK'],
    async run(t) {
      const w = await t.imap({ login: t.users.alice, select: 'INBOX' });
      await w.send(Buffer.from('s SEARCH TEXT {3+}\r\na\0b\r\n', 'latin1'));
      const cls = await w.imapAnswer('s');
      return [cls, await noop(w)];
    },
  },
  // ------------------------------------------------------------ nesting and floods
  {
    id: 'R013',
    title: '60,000-deep parentheses (a 120 KB line): NO [TOOBIG], nothing parsed, session goes on',
    sends: 's SEARCH ((((…60,000…ALL))))…\\r\\n',
    expect: ['NO', 'OK'],
    async run(t) {
      const w = await t.imap({ login: t.users.alice, select: 'INBOX' });
      const cls = await cmd(w, 's', `SEARCH ${'('.repeat(60000)}ALL${')'.repeat(60000)}`);
      assert.match(w.tagged('s'), /TOOBIG/);
      return [cls, await noop(w)];
    },
  },
  {
    id: 'R014',
    title: '30,000-deep parentheses within the line limit: BAD (nesting limit), no stack overflow',
    sends: 's SEARCH ((((…30,000…ALL))))…\\r\\n',
    expect: ['BAD', 'OK'],
    async run(t) {
      const w = await t.imap({ login: t.users.alice, select: 'INBOX' });
      const cls = await cmd(w, 's', `SEARCH ${'('.repeat(30000)}ALL${')'.repeat(30000)}`);
      return [cls, await noop(w)];
    },
  },
  {
    id: 'R015',
    title: '60,000 opening parentheses in FETCH (unbalanced, 60 KB): BAD',
    sends: 'f FETCH 1 ((((…60,000\\r\\n',
    expect: ['BAD', 'OK'],
    async run(t) {
      const w = await t.imap({ login: t.users.alice, select: 'INBOX' });
      const cls = await cmd(w, 'f', `FETCH 1 ${'('.repeat(60000)}`);
      return [cls, await noop(w)];
    },
  },
  {
    id: 'R016',
    title: '60,000-deep parentheses carried over many short lines glued by literals: the command as a whole is TOOBIG',
    sends: 's SEARCH ((((((((((TEXT {1+}\\r\\nx … × 6,000 … ALL\\r\\n',
    expect: ['NO', 'OK'],
    async run(t) {
      const w = await t.imap({ login: t.users.alice, select: 'INBOX' });
      // Parentheses outside literals, in many short lines glued by tiny non-synchronising literals.
      const parts: string[] = [];
      for (let i = 0; i < 6000; i++) parts.push(`${'('.repeat(10)}TEXT {1+}\r\nx `);
      await w.send(`s SEARCH ${parts.join('')}ALL\r\n`);
      const cls = await w.imapAnswer('s');
      assert.match(w.tagged('s'), /TOOBIG/);
      return [cls, await noop(w)];
    },
  },
  {
    id: 'R017',
    title: '1,000 invalid commands in one write: a few BAD, then * BYE and close',
    sends: '"x1 FROB\\r\\nx2 FROB\\r\\n…x1000 FROB\\r\\n" in one write',
    expect: 'BYE+close',
    async run(t) {
      const w = await t.imap({ login: t.users.alice });
      let s = '';
      for (let i = 1; i <= 1000; i++) s += `x${i} FROB\r\n`;
      await w.send(s);
      const cls = await w.byeAndClose();
      const bads = (w.text().match(/\r\nx\d+ BAD /g) ?? []).length + (/^x\d+ BAD /.test(w.text()) ? 1 : 0);
      assert.ok(bads >= 1 && bads <= 10, `${bads} BAD replies before the BYE`);
      return cls;
    },
  },
  {
    id: 'R018',
    title: '1,000 pipelined NOOPs in one write: each answered once, in order',
    sends: '"n1 NOOP\\r\\n…n1000 NOOP\\r\\n" in one write',
    expect: 'OK',
    async run(t) {
      const w = await t.imap({ login: t.users.alice });
      let s = '';
      for (let i = 1; i <= 1000; i++) s += `n${i} NOOP\r\n`;
      await w.send(s);
      const cls = await w.imapAnswer('n1000');
      const tags = [...w.text().matchAll(/(?:^|\r\n)(n\d+) OK/g)].map((m) => m[1]);
      assert.deepEqual(tags, Array.from({ length: 1000 }, (_, i) => `n${i + 1}`));
      return cls;
    },
  },
  {
    id: 'R019',
    title: '1,000 invalid commands before login: BYE and close',
    sends: '"x FROB\\r\\n" × 1000 in one write, not logged in',
    expect: 'BYE+close',
    async run(t) {
      const w = await t.imap();
      await w.send('x FROB\r\n'.repeat(1000));
      return w.byeAndClose();
    },
  },
  {
    id: 'R064',
    title: 'a 65,000-octet tag is not echoed back: BAD with tag "*" (limits.imapMaxTagBytes), both under and over the line limit',
    sends: '<65,000 × "x">\\r\\n, then <70,000 × "x"> NOOP\\r\\n',
    expect: ['BAD', 'NO', 'OK'],
    async run(t) {
      const w = await t.imap({ login: t.users.alice });
      w.mark();
      await w.send(`${'x'.repeat(65000)}\r\n`);
      const under = await w.imapAnswer('*');
      w.mark();
      await w.send(`${'x'.repeat(70000)} NOOP\r\n`);
      const over = await w.imapAnswer('*');
      // No reply line carries more than a short tag's worth of the client's input.
      for (const line of w.text().split('\r\n')) assert.ok(line.length < 1024, `a reply line of ${line.length} octets`);
      return [under, over, await noop(w)];
    },
  },
  {
    id: 'R065',
    title: 'a 60,000-octet command name is not echoed back in full: BAD "Unknown command" with the name cut',
    sends: 'a <60,000 × "X">\\r\\n and a UID <60,000 × "X">\\r\\n',
    expect: ['BAD', 'BAD', 'OK'],
    async run(t) {
      const w = await t.imap({ login: t.users.alice });
      const a = await cmd(w, 'a', 'X'.repeat(60000));
      const b = await cmd(w, 'b', `UID ${'X'.repeat(60000)}`);
      for (const line of w.text().split('\r\n')) assert.ok(line.length < 1024, `a reply line of ${line.length} octets`);
      return [a, b, await noop(w)];
    },
  },
  // ------------------------------------------------------------ sequence sets
  ...(
    [
      ['R020', 'FETCH 0 (FLAGS)', 'BAD', 'message sequence number 0'],
      ['R021', 'FETCH 4294967296 (FLAGS)', 'BAD', 'sequence number 2^32'],
      ['R022', 'UID FETCH 0:4294967296 (FLAGS)', 'BAD', 'UID range 0:2^32'],
      ['R023', 'UID FETCH 1:99999999999999999999999 (FLAGS)', 'BAD', 'a 23-digit UID'],
      ['R024', 'STORE 0 +FLAGS (\\Seen)', 'BAD', 'STORE on sequence number 0'],
      ['R025', 'UID SEARCH UID 4294967296', 'BAD', 'SEARCH UID 2^32'],
      ['R026', 'COPY 1:18446744073709551616 INBOX', 'BAD', 'COPY range up to 2^64'],
      ['R027', 'UID STORE 4294967295 +FLAGS (\\Seen)', 'OK', 'UID 2^32-1 (valid, matches nothing)'],
      ['R028', 'UID FETCH 4294967295:* (UID)', 'OK', 'UID range 2^32-1:*'],
      // RFC 9051 §9: partial offsets are number64, so 2^32 is valid (and past the end: an empty string).
      ['R029', 'FETCH 1 (BODY.PEEK[]<4294967296.1>)', 'OK', 'partial offset 2^32 (number64, past the end)'],
      ['R030', 'FETCH 1 (BODY[]<0.99999999999999999999>)', 'BAD', 'partial length of 20 digits'],
      ['R031', 'FETCH 1 (BODY.PEEK[]<4294967295.4294967295>)', 'OK', 'partial 2^32-1.2^32-1 (valid, empty)'],
      ['R032', 'FETCH 1 (BINARY.PEEK[1]<18446744073709551616.1>)', 'BAD', 'BINARY partial offset 2^64'],
      ['R033', 'FETCH 1 (BODY[1.4294967296])', 'BAD', 'section part 2^32'],
      ['R034', 'FETCH 1 (BODY[0])', 'BAD', 'section part 0'],
    ] as const
  ).map(
    ([id, line, expect, what]): Case => ({
      id,
      title: `${what}: ${expect}`,
      sends: `q ${line}\\r\\n`,
      expect: [expect, 'OK'],
      async run(t) {
        const w = await t.imap({ login: t.users.alice, select: 'INBOX' });
        const cls = await cmd(w, 'q', line);
        return [cls, await noop(w)];
      },
    }),
  ),
  // ------------------------------------------------------------ SASL
  {
    id: 'R035',
    title: 'AUTHENTICATE PLAIN with an initial response that is not base64: BAD',
    sends: 'a AUTHENTICATE PLAIN !!!not*base64###\\r\\n',
    expect: ['BAD', 'OK'],
    async run(t) {
      const w = await t.imap();
      const cls = await cmd(w, 'a', 'AUTHENTICATE PLAIN !!!not*base64###');
      return [cls, await noop(w)];
    },
  },
  {
    id: 'R036',
    title: 'AUTHENTICATE PLAIN, continuation that is not base64: BAD',
    sends: 'a AUTHENTICATE PLAIN\\r\\n (+) %%%%\\r\\n',
    expect: ['BAD', 'OK'],
    async run(t) {
      const w = await t.imap();
      await w.send('a AUTHENTICATE PLAIN\r\n');
      await w.waitFor(/(?:^|\r\n)\+[^\r\n]*\r\n/);
      w.mark();
      await w.send('%%%%\r\n');
      const cls = await w.imapAnswer('a');
      return [cls, await noop(w)];
    },
  },
  {
    id: 'R037',
    title: 'AUTHENTICATE PLAIN with a 1 MB initial response: NO [TOOBIG], memory flat',
    sends: 'a AUTHENTICATE PLAIN <1 MiB of base64>\\r\\n',
    expect: ['NO', 'OK'],
    async run(t) {
      const w = await t.imap();
      const cls = await cmd(w, 'a', `AUTHENTICATE PLAIN ${Buffer.alloc(786432, 'A').toString('base64')}`);
      return [cls, await noop(w)];
    },
  },
  {
    id: 'R038',
    title: 'AUTHENTICATE PLAIN, a 1 MB continuation: refused, session goes on',
    sends: 'a AUTHENTICATE PLAIN\\r\\n (+) <1 MiB base64>\\r\\n',
    expect: ['BAD', 'OK'],
    async run(t) {
      const w = await t.imap();
      await w.send('a AUTHENTICATE PLAIN\r\n');
      await w.waitFor(/(?:^|\r\n)\+[^\r\n]*\r\n/);
      w.mark();
      await w.send(`${Buffer.alloc(786432, 'A').toString('base64')}\r\n`);
      const cls = await w.imapAnswer('a');
      return [cls, await noop(w)];
    },
  },
  {
    id: 'R039',
    title: 'AUTHENTICATE SCRAM-SHA-256 with garbage base64: NO AUTHENTICATIONFAILED (a failed exchange, counted as one)',
    sends: 'a AUTHENTICATE SCRAM-SHA-256 ====\\r\\n',
    expect: ['NO', 'OK'],
    async run(t) {
      const w = await t.imap();
      const cls = await cmd(w, 'a', 'AUTHENTICATE SCRAM-SHA-256 ====');
      assert.match(w.tagged('a'), /AUTHENTICATIONFAILED/);
      return [cls, await noop(w)];
    },
  },
  {
    id: 'R040',
    title: 'AUTHENTICATE SCRAM-SHA-256 with a client-first of valid base64 but no SCRAM grammar: NO AUTHENTICATIONFAILED',
    sends: 'a AUTHENTICATE SCRAM-SHA-256 base64("%s%n,,\\0\\xff")\\r\\n',
    expect: ['NO', 'OK'],
    async run(t) {
      const w = await t.imap();
      const cls = await cmd(w, 'a', `AUTHENTICATE SCRAM-SHA-256 ${Buffer.from('%s%n,,\0\xff', 'latin1').toString('base64')}`);
      return [cls, await noop(w)];
    },
  },
  {
    id: 'R041',
    title: 'AUTHENTICATE cancelled with "*": BAD (RFC 9051 §6.2.2)',
    sends: 'a AUTHENTICATE PLAIN\\r\\n (+) *\\r\\n',
    expect: ['BAD', 'OK'],
    async run(t) {
      const w = await t.imap();
      await w.send('a AUTHENTICATE PLAIN\r\n');
      await w.waitFor(/(?:^|\r\n)\+[^\r\n]*\r\n/);
      w.mark();
      await w.send('*\r\n');
      const cls = await w.imapAnswer('a');
      return [cls, await noop(w)];
    },
  },
  {
    id: 'R042',
    title: 'AUTHENTICATE PLAIN with an authorization identity of another user: NO',
    sends: 'a AUTHENTICATE PLAIN base64("bob@example.com\\0alice@example.com\\0<alice password>")\\r\\n',
    expect: ['NO', 'OK'],
    async run(t) {
      const w = await t.imap();
      const ir = Buffer.from(`${t.users.bob.address}\0${t.users.alice.address}\0${t.users.alice.password}`).toString('base64');
      const cls = await cmd(w, 'a', `AUTHENTICATE PLAIN ${ir}`);
      return [cls, await noop(w)];
    },
  },
  // ------------------------------------------------------------ injection in user names
  ...(
    [
      ['R043', 'LOGIN "%s%n%x%p" "x"', 'format string in the user name'],
      ['R044', `LOGIN "alice@example.com\\" OR \\"1\\"=\\"1" "x"`, 'quote and backslash (SQL-style) in the user name'],
      ['R045', `LOGIN "alice@example.com'; DROP TABLE accounts; --" "x"`, 'SQL injection in the user name'],
      ['R046', 'LOGIN "../../../../etc/passwd" "x"', 'a path as the user name'],
      ['R047', 'LOGIN {6+}\r\nab\r\ncd "x"', 'CRLF inside a literal user name'],
    ] as const
  ).map(
    ([id, line, what]): Case => ({
      id,
      title: `${what}: NO like any failed login, nothing echoed`,
      sends: `a ${JSON.stringify(line).slice(1, -1)}\\r\\n`,
      expect: ['NO', 'OK'],
      async run(t) {
        const w = await t.imap();
        const cls = await cmd(w, 'a', line);
        assert.doesNotMatch(w.text(), /%n|DROP|etc\/passwd/);
        return [cls, await noop(w)];
      },
    }),
  ),
  {
    id: 'R048',
    title: 'CRLF inside a quoted user name ends the line: the broken half is BAD, the rest is framed as its own command',
    sends: 'a LOGIN "x\\r\\nb LOGIN alice pw" "y"\\r\\n',
    expect: ['BAD', 'OK', 'OK'],
    async run(t) {
      const w = await t.imap();
      await w.send(`a LOGIN "x\r\nb LOGIN "${t.users.alice.address}" "${t.users.alice.password}"\r\n`);
      // The first line is an unterminated quoted string; the second is a LOGIN in cleartext-over-TLS that would work,
      // so we check it did not run the injected command twice or mix the lines.
      const a = await w.imapAnswer('a');
      const b = await w.imapAnswer('b');
      return [a, b, await noop(w)];
    },
  },
  // ------------------------------------------------------------ mailbox names
  ...(
    [
      ['R049', 'CREATE "%s%n%x"', 'NO', 'format string (and LIST wildcard) in a mailbox name'],
      ['R050', 'CREATE {5+}\r\na\r\nb', 'NO', 'CRLF inside a mailbox name'],
      ['R051', 'SELECT "../../../../etc/passwd"', 'NO', 'a path as the mailbox to SELECT'],
      ['R052', 'CREATE "INBOX/../.."', 'NO', 'INBOX/../.. as a new mailbox'],
      ['R053', 'CREATE "/"', 'NO', 'a mailbox named "/"'],
      ['R054', 'CREATE "//"', 'NO', 'a mailbox named "//"'],
      ['R055', 'CREATE "a\\"b\\\\c"', 'OK', 'quote and backslash in a mailbox name (quoted, legal)'],
      ['R056', 'CREATE {4+}\r\na\0bc', 'NO', 'NUL inside a mailbox name'],
    ] as const
  ).map(
    ([id, line, expect, what]): Case => ({
      id,
      title: `${what}: ${expect}, LIST stays well-formed`,
      sends: `m ${JSON.stringify(line).slice(1, -1)}\\r\\n`,
      expect: [expect, 'OK'],
      async run(t) {
        const w = await t.imap({ login: t.users.bob });
        const cls = await cmd(w, 'm', line);
        const list = await cmd(w, 'l', 'LIST "" "*"');
        // Every LIST line is one well-formed response: no raw CR/LF or NUL smuggled in a name.
        for (const l of w.text().split('\r\n').filter((x) => x.startsWith('* LIST'))) {
          assert.match(l, /^\* LIST \([^)]*\) (NIL|"[^"]*") ("([^"\\]|\\.)*"|[^\s"]+|\{\d+\})$/);
        }
        return [cls, list];
      },
    }),
  ),
  {
    id: 'R057',
    title: 'CREATE "../x" and RENAME INBOX "../y": mailbox names stay names (refused or stored verbatim), never paths',
    sends: 'm CREATE "../x"\\r\\nr RENAME "../x" "../../y"\\r\\n',
    expect: ['NO', 'NO'],
    async run(t) {
      const w = await t.imap({ login: t.users.bob });
      const c = await cmd(w, 'm', 'CREATE "../x"');
      const r = await cmd(w, 'r', 'RENAME INBOX "../../y"');
      return [c, r];
    },
  },
  // ------------------------------------------------------------ slow and stuck clients
  {
    id: 'R058',
    title: 'slowloris before login (one byte at a time, never a whole command): BYE and close by the login deadline',
    sends: '"a LOGIN …" trickled one byte per 100 ms',
    expect: 'BYE+close',
    async run(t) {
      const w = await t.imap();
      const line = `a LOGIN "${'slow'.repeat(100)}"`;
      const start = Date.now();
      for (let i = 0; !w.closed && Date.now() - start < 40_000; i++) {
        await w.send(line[i % line.length]);
        await new Promise((r) => setTimeout(r, 100));
      }
      // unauthenticatedTimeoutSeconds is 3: the deadline is 3 × 3 s however busy the client is.
      assert.ok(w.closed, 'still open after 40 s of trickling');
      return /\* BYE /.test(w.text()) ? 'BYE+close' : 'close';
    },
  },
  {
    id: 'R059',
    title: 'slowloris after login (a command and an APPEND literal trickled): other sessions unaffected, both complete',
    sends: '"s NOOP\\r\\n" one byte per 50 ms, then APPEND {200} with the literal trickled',
    expect: ['OK', 'OK'],
    async run(t) {
      const w = await t.imap({ login: t.users.alice });
      const other = await t.imap({ login: t.users.bob, select: 'INBOX' });
      for (const ch of 's NOOP\r\n') {
        await w.send(ch);
        assert.equal(await noop(other, 'o'), 'OK');
      }
      const s = await w.imapAnswer('s');
      const msg = Buffer.from(message('slow').padEnd(200, 'x'));
      await w.send(`a APPEND INBOX {${msg.length}}\r\n`);
      await w.waitFor(/(?:^|\r\n)\+ [^\r\n]*\r\n/);
      for (let i = 0; i < msg.length; i += 10) {
        await w.send(msg.subarray(i, i + 10));
        assert.equal(await noop(other, 'p'), 'OK');
      }
      w.mark();
      await w.send('\r\n');
      return [s, await w.imapAnswer('a')];
    },
  },
  {
    id: 'R060',
    title: 'a client that never reads a large FETCH: server memory bounded, other sessions answer, the reader can still finish',
    sends: '"f1 FETCH 1:* BODY.PEEK[]\\r\\n" × 8 pipelined, socket paused',
    expect: ['OK', 'OK'],
    async run(t) {
      const w = await t.imap({ login: t.users.carol, select: 'INBOX' });
      const pid = t.server.process.pid!;
      const before = rssKiB(pid);
      w.socket.pause();
      let s = '';
      for (let i = 1; i <= 8; i++) s += `f${i} FETCH 1:* BODY.PEEK[]\r\n`;
      await w.send(s);
      const other = await t.imap({ login: t.users.bob, select: 'INBOX' });
      for (let i = 0; i < 20; i++) assert.equal(await noop(other, `o${i}`), 'OK');
      const grown = rssKiB(pid) - before;
      // 8 × 2 × 6 MB of replies would be 96 MB if buffered; backpressure keeps it to a few socket buffers.
      assert.ok(grown < 64 * 1024, `RSS grew ${grown} KiB while a client did not read`);
      w.socket.resume();
      const first = await w.imapAnswer('f1', 120_000);
      const last = await w.imapAnswer('f8', 120_000);
      return [first, last];
    },
  },
  {
    id: 'R066',
    title: 'SEARCH BODY/TEXT/SUBJECT with a 60,000-octet repetitive needle over 1 MB of near-matching text: answered without stalling others',
    sends: 'a UID SEARCH BODY {60000+}\\r\\n<60,000 × "x">\\r\\n (and TEXT, SUBJECT) over a message of "x" lines with one "é"',
    expect: ['OK', 'OK', 'OK'],
    async run(t) {
      // String.includes is text × needle on such input (minutes here); the search must stay linear.
      const frank = t.users.frank;
      // One decoded line of 1 MB: runs of 59,999 "x" each ended by an "é" (base64 on the wire), so every
      // alignment of the 60,000-"x" needle nearly matches and none does.
      const body = Buffer.from(`${'x'.repeat(59_999)}\u00e9`.repeat(17)).toString('base64').replace(/.{76}/g, '$&\r\n');
      const headers = 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n';
      assert.equal(await t.deliver(frank, message(`\u00e9${'x'.repeat(200)}`, `${body}\r\n`, headers)), '2xx');
      const w = await t.imap({ login: frank, select: 'INBOX' });
      const probe = await t.imap({ login: t.users.bob, select: 'INBOX' });
      const needle = 'x'.repeat(60000);
      const answers: AnswerClass[] = [];
      for (const key of ['BODY', 'TEXT', 'SUBJECT']) {
        let answer: AnswerClass | null = null;
        const search = cmd(w, 's', Buffer.from(`UID SEARCH ${key} {${needle.length}+}\r\n${needle}`)).then((c) => (answer = c));
        // While the search runs, another session's NOOPs are answered promptly (a quadratic search stalls them for seconds).
        for (let i = 0; answer === null; i++) {
          probe.mark();
          await probe.send(`p${i} NOOP\r\n`);
          assert.equal(await probe.imapAnswer(`p${i}`, CANARY_NOOP_MS), 'OK', `NOOP p${i} during SEARCH ${key}`);
          await Promise.race([search, new Promise((r) => setTimeout(r, 50))]);
        }
        answers.push(await search);
      }
      return answers;
    },
  },
  // ------------------------------------------------------------ sessions racing each other
  {
    id: 'R061',
    title: 'EXPUNGE in one session during a slow FETCH in another: both complete, the FETCH says NO [EXPUNGEISSUED] and its output stays framed',
    sends: 'A: f FETCH 1:* BODY.PEEK[] (not read); B: s STORE 1:* +FLAGS (\\Deleted), e EXPUNGE',
    expect: ['OK', 'OK', 'NO'],
    async run(t) {
      const dave = t.users.dave;
      // FETCH reads a few messages ahead (commands/fetch.ts READ_AHEAD) and an opened body stays readable
      // after an expunge; past what the socket buffers and the read-ahead hold (a few MB), bodies are gone.
      for (let i = 0; i < 24; i++) assert.equal(await t.deliver(dave, message(`exp${i}`, `${'y'.repeat(998)}\r\n`.repeat(1000))), '2xx');
      const a = await t.imap({ login: dave, select: 'INBOX' });
      const b = await t.imap({ login: dave, select: 'INBOX' });
      a.socket.pause();
      await a.send('f FETCH 1:* (UID BODY.PEEK[])\r\n');
      const s = await cmd(b, 's', 'STORE 1:* +FLAGS.SILENT (\\Deleted)');
      const e = await cmd(b, 'e', 'EXPUNGE');
      a.socket.resume();
      const f = await a.imapAnswer('f', 120_000);
      // RFC 9051 §7.1 / RFC 2180 §4.1.2: messages expunged under a running FETCH are reported, not invented.
      assert.match(a.tagged('f'), /^f NO \[EXPUNGEISSUED\]/);
      // Each BODY[] literal announced is followed by exactly that many octets (a strict client's view).
      let pos = 0;
      const text = a.text();
      for (const m of text.matchAll(/BODY\[\] \{(\d+)\}\r\n/g)) {
        assert.ok(m.index! >= pos);
        pos = m.index! + m[0].length + Number(m[1]);
        assert.match(text.slice(pos, pos + 1), /[) ]/);
      }
      return [s, e, f];
    },
  },
  {
    id: 'R062',
    title: 'ten sessions change flags on the same messages at once: all OK, every change kept',
    sends: 'session i: s STORE 1:* +FLAGS (kw<i>) and -FLAGS (\\Seen), 10 at once',
    expect: 'OK',
    async run(t) {
      const erin = t.users.erin;
      for (let i = 0; i < 5; i++) assert.equal(await t.deliver(erin, message(`flags${i}`)), '2xx');
      const sessions = await Promise.all(Array.from({ length: 10 }, () => t.imap({ login: erin, select: 'INBOX' })));
      const results = await Promise.all(
        sessions.map(async (w, i) => {
          await w.send(`s STORE 1:* +FLAGS.SILENT (kw${i} \\Seen)\r\nu STORE 1:* -FLAGS.SILENT (\\Seen)\r\n`);
          return [await w.imapAnswer('s'), await w.imapAnswer('u')];
        }),
      );
      assert.deepEqual(results.flat(), Array(20).fill('OK'));
      const check = await t.imap({ login: erin, select: 'INBOX' });
      const cls = await cmd(check, 'f', 'FETCH 1:* (FLAGS)');
      const lines = check.sinceMark().split('\r\n').filter((l) => /^\* \d+ FETCH /.test(l));
      assert.equal(lines.length, 5);
      for (const l of lines) for (let i = 0; i < 10; i++) assert.match(l, new RegExp(`\\bkw${i}\\b`), l);
      return cls;
    },
  },
  {
    id: 'R063',
    title: 'two sessions APPEND at once: distinct UIDs, both messages stored whole',
    sends: 'two APPEND INBOX {N} in parallel, literals interleaved',
    expect: ['OK', 'OK'],
    async run(t) {
      const a = await t.imap({ login: t.users.erin });
      const b = await t.imap({ login: t.users.erin });
      const m1 = Buffer.from(message('par1', 'a'.repeat(100000)));
      const m2 = Buffer.from(message('par2', 'b'.repeat(100000)));
      await a.send(`a APPEND INBOX {${m1.length}}\r\n`);
      await b.send(`b APPEND INBOX {${m2.length}}\r\n`);
      await a.waitFor(/(?:^|\r\n)\+ /);
      await b.waitFor(/(?:^|\r\n)\+ /);
      for (let i = 0; i < 100; i++) {
        await a.send(m1.subarray(i * 1024, (i + 1) * 1024));
        await b.send(m2.subarray(i * 1024, (i + 1) * 1024));
      }
      await a.send(Buffer.concat([m1.subarray(100 * 1024), Buffer.from('\r\n')]));
      await b.send(Buffer.concat([m2.subarray(100 * 1024), Buffer.from('\r\n')]));
      const ra = await a.imapAnswer('a');
      const rb = await b.imapAnswer('b');
      const ua = /APPENDUID \d+ (\d+)/.exec(a.tagged('a'))?.[1];
      const ub = /APPENDUID \d+ (\d+)/.exec(b.tagged('b'))?.[1];
      assert.ok(ua && ub && ua !== ub, `UIDs ${ua} and ${ub}`);
      return [ra, rb];
    },
  },
];

reliabilitySuite(
  'reliability: hostile IMAP input',
  {
    users: ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'],
    async setup(t) {
      for (let i = 0; i < 3; i++) assert.equal(await t.deliver(t.users.alice, message(`hello ${i}`)), '2xx');
      const big = `${'z'.repeat(998)}\r\n`.repeat(Math.floor(BIG_MESSAGE_BYTES / 1000));
      for (let i = 0; i < 2; i++) assert.equal(await t.deliver(t.users.carol, message(`big ${i}`, big)), '2xx');
      assert.equal(await t.deliver(t.users.bob, message('bob')), '2xx');
    },
  },
  cases,
);
