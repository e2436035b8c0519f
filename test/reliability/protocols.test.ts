/**
 * Reliability cases R100-R159: STARTTLS/STLS injection (CVE-2011-0411 style,
 * split across segments), cleartext logins on the plain ports, login
 * throttling and brute force, POP3 sessions cut after DELE and two at once,
 * hostile POP3 and LMTP input.
 */
import assert from 'node:assert/strict';
import { type AnswerClass, type Case, type Ctx, message, reliabilitySuite, type Wire } from './harness.js';

async function imapCmd(w: Wire, tag: string, line: string): Promise<AnswerClass> {
  w.mark();
  await w.send(`${tag} ${line}\r\n`);
  return w.imapAnswer(tag);
}

async function popCmd(w: Wire, line: string | Buffer): Promise<AnswerClass> {
  w.mark();
  await w.send(typeof line === 'string' ? `${line}\r\n` : Buffer.concat([line, Buffer.from('\r\n')]));
  return w.popAnswer();
}

/** A POP3 multi-line reply (after +OK) has fully arrived. */
async function popMulti(w: Wire): Promise<AnswerClass> {
  const cls = await w.popAnswer();
  if (cls === '+OK') await w.waitFor(/\r\n\.\r\n$/);
  return cls;
}

async function lmtpCmd(w: Wire, line: string | Buffer): Promise<AnswerClass> {
  w.mark();
  await w.send(typeof line === 'string' ? `${line}\r\n` : Buffer.concat([line, Buffer.from('\r\n')]));
  return w.smtpAnswer();
}

/** Plain IMAP, greeted, from a fresh address. */
async function plainImap(t: Ctx): Promise<Wire> {
  const w = await t.open('imap', { from: t.fresh() });
  await w.waitFor(/^\* OK [^\r\n]*\r\n/);
  w.mark();
  return w;
}

async function plainPop(t: Ctx): Promise<Wire> {
  const w = await t.open('pop3', { from: t.fresh() });
  await w.waitFor(/^\+OK [^\r\n]*\r\n/);
  w.mark();
  return w;
}

/**
 * STARTTLS with bytes pipelined after it in the given segments. Whatever the
 * segments, nothing sent in the clear after STARTTLS may be executed: after
 * the handshake the first answer must be to the client's first encrypted
 * command. Returns [STARTTLS class, class of the first command over TLS].
 */
async function imapStarttlsInjection(t: Ctx, segments: string[]): Promise<AnswerClass[]> {
  const w = await plainImap(t);
  for (const s of segments) await w.send(s);
  const a = await w.imapAnswer('a');
  await w.startTls();
  // The injected commands were "b …": none may be answered, in plain text or over TLS.
  w.mark();
  await w.send('c NOOP\r\nd LIST "" "*"\r\n');
  const c = await w.imapAnswer('c');
  const d = await w.imapAnswer('d');
  assert.doesNotMatch(w.text(), /(^|\r\n)b (OK|NO|BAD)/, 'an injected command was executed');
  return [a, c, d];
}

async function popStlsInjection(t: Ctx, segments: string[]): Promise<AnswerClass[]> {
  const w = await plainPop(t);
  for (const s of segments) await w.send(s);
  const stls = await w.popAnswer();
  await w.startTls();
  w.mark();
  await w.send('CAPA\r\n');
  const capa = await popMulti(w);
  // The first reply over TLS is CAPA's: an injected USER/PASS/QUIT would have answered first.
  assert.match(w.sinceMark(), /^\+OK Capability list follows\r\n/);
  // And the injected USER did not survive: PASS now is out of order.
  w.mark();
  await w.send('PASS x\r\n');
  const pass = await w.popAnswer();
  return [stls, capa, pass];
}


const cases: Case[] = [
  // ------------------------------------------------------------ STARTTLS / STLS injection
  {
    id: 'R100',
    title: 'IMAP: LOGIN pipelined after STARTTLS in the same packet is discarded (CVE-2011-0411)',
    sends: '"a STARTTLS\\r\\nb LOGIN alice pw\\r\\n" in one write',
    expect: ['OK', 'OK', 'BAD'],
    async run(t) {
      return imapStarttlsInjection(t, [`a STARTTLS\r\nb LOGIN "${t.users.alice.address}" "${t.users.alice.password}"\r\n`]);
    },
  },
  {
    id: 'R101',
    title: 'IMAP: STARTTLS line split, the injected command in the segment that ends it',
    sends: '"a START" | "TLS\\r\\nb LOGIN alice pw\\r\\n"',
    expect: ['OK', 'OK', 'BAD'],
    async run(t) {
      return imapStarttlsInjection(t, ['a START', `TLS\r\nb LOGIN "${t.users.alice.address}" "${t.users.alice.password}"\r\n`]);
    },
  },
  {
    id: 'R102',
    title: 'IMAP: STARTTLS split between CR and LF, injection after the LF',
    sends: '"a STARTTLS\\r" | "\\nb LOGIN alice pw\\r\\n"',
    expect: ['OK', 'OK', 'BAD'],
    async run(t) {
      return imapStarttlsInjection(t, ['a STARTTLS\r', `\nb LOGIN "${t.users.alice.address}" "${t.users.alice.password}"\r\n`]);
    },
  },
  {
    id: 'R103',
    title: 'IMAP: the injected command itself split across the segments after STARTTLS',
    sends: '"a STARTTLS\\r\\nb LOG" | "IN alice pw\\r\\n" (second write right after the first)',
    expect: ['OK'],
    async run(t) {
      const w = await plainImap(t);
      await w.send('a STARTTLS\r\nb LOG');
      await w.send(`IN "${t.users.alice.address}" "${t.users.alice.password}"\r\n`);
      const a = await w.imapAnswer('a');
      // The second segment reached the server either before the handshake (dropped) or during it (the
      // handshake fails): in neither case is it a command. Which one happened depends on scheduling.
      const tls = await w.startTls().then(
        () => true,
        () => false,
      );
      if (tls) {
        w.mark();
        await w.send('d LIST "" "*"\r\n');
        assert.equal(await w.imapAnswer('d'), 'BAD', 'not logged in, so LIST is refused');
      }
      assert.doesNotMatch(w.text(0), /(^|\r\n)b (OK|NO|BAD)/, 'an injected command was executed');
      return [a];
    },
  },
  {
    id: 'R104',
    title: 'IMAP: plaintext sent after the STARTTLS OK is not a command: the handshake fails and the server closes',
    sends: '"a STARTTLS\\r\\n", wait for OK, then "b NOOP\\r\\n" in the clear',
    expect: ['OK', 'close'],
    async run(t) {
      const w = await plainImap(t);
      await w.send('a STARTTLS\r\n');
      const a = await w.imapAnswer('a');
      w.mark();
      await w.send('b NOOP\r\n');
      await w.waitClosed();
      assert.doesNotMatch(w.text(), /b OK/);
      return [a, 'close'];
    },
  },
  {
    id: 'R105',
    title: 'IMAP: STARTTLS on the implicit-TLS port: BAD (TLS already active)',
    sends: 'a STARTTLS\\r\\n on 993',
    expect: ['BAD', 'OK'],
    async run(t) {
      const w = await t.imap();
      return [await imapCmd(w, 'a', 'STARTTLS'), await imapCmd(w, 'z', 'NOOP')];
    },
  },
  {
    id: 'R106',
    title: 'IMAP: STARTTLS twice: the second is BAD',
    sends: 'a STARTTLS\\r\\n … (TLS) … b STARTTLS\\r\\n',
    expect: ['OK', 'BAD'],
    async run(t) {
      const w = await plainImap(t);
      const a = await imapCmd(w, 'a', 'STARTTLS');
      await w.startTls();
      return [a, await imapCmd(w, 'b', 'STARTTLS')];
    },
  },
  {
    id: 'R107',
    title: 'POP3: USER/PASS pipelined after STLS in the same packet are discarded',
    sends: '"STLS\\r\\nUSER alice\\r\\nPASS pw\\r\\n" in one write',
    expect: ['+OK', '+OK', '-ERR'],
    async run(t) {
      return popStlsInjection(t, [`STLS\r\nUSER ${t.users.alice.address}\r\nPASS ${t.users.alice.password}\r\n`]);
    },
  },
  {
    id: 'R108',
    title: 'POP3: STLS split, the injection in the segment that ends it',
    sends: '"ST" | "LS\\r\\nUSER alice\\r\\n"',
    expect: ['+OK', '+OK', '-ERR'],
    async run(t) {
      return popStlsInjection(t, ['ST', `LS\r\nUSER ${t.users.alice.address}\r\n`]);
    },
  },
  {
    id: 'R109',
    title: 'POP3: STLS split between CR and LF, QUIT injected after',
    sends: '"STLS\\r" | "\\nQUIT\\r\\n"',
    expect: ['+OK', '+OK', '-ERR'],
    async run(t) {
      return popStlsInjection(t, ['STLS\r', '\nQUIT\r\n']);
    },
  },
  {
    id: 'R110',
    title: 'POP3: STLS on the implicit-TLS port and STLS twice: -ERR',
    sends: 'STLS\\r\\n on 995; STLS, (TLS), STLS on 110',
    expect: ['-ERR', '+OK', '-ERR'],
    async run(t) {
      const implicit = await t.pop3();
      const first = await popCmd(implicit, 'STLS');
      const w = await plainPop(t);
      const stls = await popCmd(w, 'STLS');
      await w.startTls();
      return [first, stls, await popCmd(w, 'STLS')];
    },
  },
  // ------------------------------------------------------------ cleartext logins
  {
    id: 'R111',
    title: 'IMAP LOGIN on the plain port before STARTTLS is refused (PRIVACYREQUIRED), the password not echoed',
    sends: 'a LOGIN alice <password>\\r\\n on 143',
    expect: ['NO', 'OK'],
    async run(t) {
      const w = await plainImap(t);
      const a = await imapCmd(w, 'a', `LOGIN "${t.users.alice.address}" "${t.users.alice.password}"`);
      assert.match(w.tagged('a'), /PRIVACYREQUIRED/);
      assert.match(w.text(0), /LOGINDISABLED/);
      // Then STARTTLS and the same LOGIN works.
      await imapCmd(w, 's', 'STARTTLS');
      await w.startTls();
      return [a, await imapCmd(w, 'b', `LOGIN "${t.users.alice.address}" "${t.users.alice.password}"`)];
    },
  },
  {
    id: 'R112',
    title: 'IMAP AUTHENTICATE PLAIN on the plain port before STARTTLS is refused',
    sends: 'a AUTHENTICATE PLAIN <base64>\\r\\n on 143',
    expect: 'NO',
    async run(t) {
      const w = await plainImap(t);
      const ir = Buffer.from(`\0${t.users.alice.address}\0${t.users.alice.password}`).toString('base64');
      return imapCmd(w, 'a', `AUTHENTICATE PLAIN ${ir}`);
    },
  },
  {
    id: 'R113',
    title: 'POP3 USER/PASS on the plain port before STLS is refused',
    sends: 'USER alice\\r\\nPASS <password>\\r\\n on 110',
    expect: ['-ERR', '-ERR'],
    async run(t) {
      const w = await plainPop(t);
      const user = await popCmd(w, `USER ${t.users.alice.address}`);
      return [user, await popCmd(w, `PASS ${t.users.alice.password}`)];
    },
  },
  {
    id: 'R114',
    title: 'POP3 AUTH PLAIN on the plain port before STLS is refused',
    sends: 'AUTH PLAIN <base64>\\r\\n on 110',
    expect: '-ERR',
    async run(t) {
      const w = await plainPop(t);
      return popCmd(w, `AUTH PLAIN ${Buffer.from(`\0${t.users.alice.address}\0${t.users.alice.password}`).toString('base64')}`);
    },
  },
  // ------------------------------------------------------------ login throttling (issue 9)
  {
    id: 'R115',
    title: 'IMAP: at most three failed logins per connection, then * BYE and close',
    sends: 'a1..a4 LOGIN alice wrong\\r\\n, one at a time',
    expect: ['NO', 'NO', 'NO', 'BYE+close'],
    async run(t) {
      const w = await t.imap();
      const out: AnswerClass[] = [];
      for (let i = 1; i <= 3; i++) out.push(await imapCmd(w, `a${i}`, `LOGIN "${t.users.alice.address}" "wrong-${i}"`));
      // The BYE may come with the third NO or in answer to the fourth attempt; either way the connection ends.
      const fromThird = w.text(0).lastIndexOf('a3 NO');
      await w.send(`a4 LOGIN "${t.users.alice.address}" "wrong-4"\r\n`);
      await w.waitClosed();
      const rest = w.text(Math.max(0, fromThird));
      assert.doesNotMatch(rest, /a4 (OK|NO|BAD)/, 'a fourth login was evaluated');
      out.push(/\* BYE /.test(rest) ? 'BYE+close' : 'close');
      return out;
    },
  },
  {
    id: 'R116',
    title: 'POP3: at most three failed logins per connection, then -ERR and close',
    sends: 'USER alice\\r\\nPASS wrong\\r\\n × 4',
    expect: ['-ERR', '-ERR', '-ERR', '-ERR+close'],
    async run(t) {
      const w = await t.pop3();
      const out: AnswerClass[] = [];
      for (let i = 1; i <= 3; i++) {
        await popCmd(w, `USER ${t.users.alice.address}`);
        out.push(await popCmd(w, `PASS wrong-${i}`));
      }
      const after = w.text(0).length;
      await w.send(`USER ${t.users.alice.address}\r\nPASS wrong-4\r\n`);
      await w.waitClosed();
      const rest = w.text(after);
      assert.ok(!/\+OK/.test(rest) && (rest.match(/-ERR/g) ?? []).length <= 1, `after the third failure: ${JSON.stringify(rest)}`);
      out.push('-ERR+close');
      return out;
    },
  },
  {
    id: 'R117',
    title: 'IMAP: unknown user and wrong password get byte-identical answers',
    sends: 'a LOGIN nobody@example.com x\\r\\n vs a LOGIN alice x\\r\\n',
    expect: ['NO', 'NO'],
    async run(t) {
      const u = await t.imap();
      const p = await t.imap();
      const a = await imapCmd(u, 'a', 'LOGIN "nobody@example.com" "wrong-password-1"');
      const b = await imapCmd(p, 'a', `LOGIN "${t.users.alice.address}" "wrong-password-1"`);
      assert.equal(u.tagged('a'), p.tagged('a'));
      return [a, b];
    },
  },
  {
    id: 'R118',
    title: 'POP3: unknown user and wrong password get byte-identical answers (USER and PASS)',
    sends: 'USER nobody@example.com\\r\\nPASS x\\r\\n vs USER alice\\r\\nPASS x\\r\\n',
    expect: ['-ERR', '-ERR'],
    async run(t) {
      const u = await t.pop3();
      const p = await t.pop3();
      await u.send('USER nobody@example.com\r\n');
      await p.send(`USER ${t.users.alice.address}\r\n`);
      await u.waitFor(/^[^\r\n]*\r\n/);
      await p.waitFor(/^[^\r\n]*\r\n/);
      assert.equal(u.text(), p.text(), 'USER answers differ');
      // Run both at once and snapshot each transcript at its answer: a session left waiting may be autologged out later.
      const [[a, uText], [b, pText]] = await Promise.all(
        [u, p].map(async (w) => [await popCmd(w, 'PASS wrong-password-1'), w.text()] as const),
      );
      assert.equal(uText, pText, 'PASS answers differ');
      return [a, b];
    },
  },
  {
    id: 'R119',
    title: 'brute force on alice from one address (40 guesses, 4 connections at once) while alice logs in from another: she gets in promptly',
    sends: 'from 127.0.2.x: LOGIN alice guess-N; from 127.0.3.1: LOGIN alice <password>',
    expect: 'OK',
    async run(t) {
      const attacker = '127.0.2.7';
      const attack = async (n: number) => {
        for (let round = 0; round < 10; round++) {
          let w: Wire;
          try {
            w = await t.imap({ from: attacker });
          } catch {
            return; // refused outright: fine
          }
          for (let i = 0; i < 3 && !w.closed; i++) await imapCmd(w, `g${i}`, `LOGIN "${t.users.alice.address}" "guess-${n}-${round}-${i}"`);
          w.destroy();
        }
      };
      const attacks = Promise.all([1, 2, 3, 4].map(attack));
      // Alice, from her own address, during the attack: in within a generous bound.
      const start = Date.now();
      const alice = await t.imap({ from: '127.0.3.1' });
      const cls = await imapCmd(alice, 'l', `LOGIN "${t.users.alice.address}" "${t.users.alice.password}"`);
      assert.ok(Date.now() - start < 5000, `alice waited ${Date.now() - start} ms`);
      await attacks;
      assert.doesNotMatch(alice.text(), /guess/);
      return cls;
    },
  },
  // ------------------------------------------------------------ POP3 sessions cut and doubled
  {
    id: 'R120',
    title: 'POP3 session closed (FIN) after DELE without QUIT: nothing deleted (no UPDATE state), lock released',
    sends: 'USER/PASS, DELE 1\\r\\n, then close',
    expect: ['+OK', '+OK'],
    async run(t) {
      const before = await t.count(t.users.frank);
      const w = await t.pop3({ login: t.users.frank });
      const dele = await popCmd(w, 'DELE 1');
      w.socket.end();
      await w.waitClosed();
      // A new session gets in (the lock is released) and still sees every message.
      const again = await t.pop3({ login: t.users.frank });
      const stat = await popCmd(again, 'STAT');
      assert.equal(Number(/^\+OK (\d+) /.exec(again.sinceMark())![1]), before);
      return [dele, stat];
    },
  },
  {
    id: 'R121',
    title: 'POP3 session reset (RST) after DELE: nothing deleted, lock released at once',
    sends: 'USER/PASS, DELE 1\\r\\n, DELE 2\\r\\n, then RST',
    expect: ['+OK', '+OK', '+OK'],
    async run(t) {
      const before = await t.count(t.users.frank);
      const w = await t.pop3({ login: t.users.frank });
      const d1 = await popCmd(w, 'DELE 1');
      const d2 = await popCmd(w, 'DELE 2');
      w.tcp.resetAndDestroy();
      await w.waitClosed();
      const again = await t.pop3({ login: t.users.frank });
      const stat = await popCmd(again, 'STAT');
      assert.equal(Number(/^\+OK (\d+) /.exec(again.sinceMark())![1]), before);
      return [d1, d2, stat];
    },
  },
  {
    id: 'R122',
    title: 'POP3 DELE then QUIT deletes exactly the marked message (the control for R120/R121)',
    sends: 'DELE 1\\r\\nQUIT\\r\\n',
    expect: ['+OK', '+OK'],
    async run(t) {
      assert.equal(await t.deliver(t.users.frank, message('to delete')), '2xx');
      const before = await t.count(t.users.frank);
      const w = await t.pop3({ login: t.users.frank });
      const dele = await popCmd(w, 'DELE 1');
      const quit = await popCmd(w, 'QUIT');
      await w.waitClosed();
      assert.equal(await t.count(t.users.frank), before - 1);
      return [dele, quit];
    },
  },
  {
    id: 'R123',
    title: 'two POP3 sessions on one maildrop at once: the second gets -ERR [IN-USE] and close, the first goes on',
    sends: 'session 1: USER/PASS; session 2: USER/PASS',
    expect: ['-ERR', '+OK'],
    async run(t) {
      const first = await t.pop3({ login: t.users.frank });
      const second = await t.pop3();
      await popCmd(second, `USER ${t.users.frank.address}`);
      const pass = await popCmd(second, `PASS ${t.users.frank.password}`);
      assert.match(second.sinceMark(), /^-ERR \[IN-USE\]/);
      await second.waitClosed();
      return [pass, await popCmd(first, 'STAT')];
    },
  },
  {
    id: 'R124',
    title: 'two POP3 sessions racing to log in at once: exactly one gets the maildrop',
    sends: 'two connections send USER/PASS in the same tick',
    expect: ['+OK', '-ERR'],
    async run(t) {
      const a = await t.pop3();
      const b = await t.pop3();
      const login = `USER ${t.users.frank.address}\r\nPASS ${t.users.frank.password}\r\n`;
      await Promise.all([a.send(login), b.send(login)]);
      // After the mark: the USER reply, then the PASS reply.
      const passReply = async (w: Wire) => {
        const m = await w.waitFor(/^[^\r\n]*\r\n(\+OK|-ERR)[^\r\n]*\r\n/);
        return m[1] as AnswerClass;
      };
      const results = [await passReply(a), await passReply(b)].sort();
      return results;
    },
  },
  // ------------------------------------------------------------ hostile POP3 input
  ...(
    [
      ['R125', 'RETR 0', 'message number 0'],
      ['R126', 'RETR 4294967296', 'message number 2^32'],
      ['R127', 'RETR -1', 'a negative message number'],
      ['R129', 'DELE 18446744073709551616', 'DELE 2^64'],
      ['R130', 'LIST 1 2 3 4 5 6 7 8 9', 'too many arguments'],
    ] as const
  ).map(
    ([id, line, what]): Case => ({
      id,
      title: `POP3 ${what}: -ERR, session goes on`,
      sends: `${line}\\r\\n`,
      expect: ['-ERR', '+OK'],
      async run(t) {
        const w = await t.pop3({ login: t.users.gina });
        const cls = await popCmd(w, line);
        return [cls, await popCmd(w, 'NOOP')];
      },
    }),
  ),
  {
    id: 'R128',
    title: 'POP3 TOP with a line count of 20 digits: the whole message (RFC 1939 §7), session goes on',
    sends: 'TOP 1 99999999999999999999\\r\\n',
    expect: ['+OK', '+OK'],
    async run(t) {
      const w = await t.pop3({ login: t.users.gina });
      w.mark();
      await w.send('TOP 1 99999999999999999999\r\n');
      const cls = await popMulti(w);
      assert.match(w.sinceMark(), /\r\nBody of gina 0\r\n\.\r\n$/);
      return [cls, await popCmd(w, 'NOOP')];
    },
  },
  {
    id: 'R131',
    title: 'POP3: 1,000 invalid commands in one write: a few -ERR, then -ERR and close',
    sends: '"FROB\\r\\n" × 1000 in one write',
    expect: '-ERR+close',
    async run(t) {
      const w = await t.pop3();
      await w.send('FROB\r\n'.repeat(1000));
      await w.waitClosed();
      const errs = (w.text().match(/-ERR/g) ?? []).length;
      assert.ok(errs >= 1 && errs <= 11, `${errs} -ERR replies`);
      assert.match(w.text(), /-ERR Too many bad commands\r\n$/);
      return '-ERR+close';
    },
  },
  {
    id: 'R132',
    title: 'POP3: a 1 MB line: -ERR Line too long, session goes on',
    sends: 'USER <1 MiB of "a">\\r\\n',
    expect: ['-ERR', '+OK'],
    async run(t) {
      const w = await t.pop3();
      const cls = await popCmd(w, `USER ${'a'.repeat(1024 * 1024)}`);
      w.mark();
      await w.send('CAPA\r\n');
      return [cls, await popMulti(w)];
    },
  },
  {
    id: 'R133',
    title: 'POP3: AUTH PLAIN with bad base64: -ERR',
    sends: 'AUTH PLAIN !!!notbase64\\r\\n',
    expect: ['-ERR', '+OK'],
    async run(t) {
      const w = await t.pop3();
      const cls = await popCmd(w, 'AUTH PLAIN !!!notbase64');
      w.mark();
      await w.send('CAPA\r\n');
      return [cls, await popMulti(w)];
    },
  },
  {
    id: 'R134',
    title: 'POP3: AUTH PLAIN with a 1 MB initial response: -ERR, memory flat',
    sends: 'AUTH PLAIN <1 MiB base64>\\r\\n',
    expect: ['-ERR', '+OK'],
    async run(t) {
      const w = await t.pop3();
      const cls = await popCmd(w, `AUTH PLAIN ${Buffer.alloc(786432, 'A').toString('base64')}`);
      w.mark();
      await w.send('CAPA\r\n');
      return [cls, await popMulti(w)];
    },
  },
  {
    id: 'R135',
    title: 'POP3: AUTH PLAIN, a continuation that is not base64: -ERR',
    sends: 'AUTH PLAIN\\r\\n (+) %%%%\\r\\n',
    expect: '-ERR',
    async run(t) {
      const w = await t.pop3();
      await w.send('AUTH PLAIN\r\n');
      await w.waitFor(/^\+ [^\r\n]*\r\n/);
      return popCmd(w, '%%%%');
    },
  },
  ...(
    [
      ['R136', Buffer.from('USER al\0ice@example.com', 'latin1'), 'NUL in the user name'],
      ['R137', Buffer.from('USER %s%n%x%p@example.com'), 'a format string as the user name'],
      ['R138', Buffer.from("USER alice@example.com' OR '1'='1"), 'SQL injection in the user name'],
      ['R139', Buffer.from('USER ../../../etc/passwd'), 'a path as the user name'],
    ] as const
  ).map(
    ([id, line, what]): Case => ({
      id,
      title: `POP3 ${what}: the PASS fails like any other, nothing echoed`,
      sends: `${JSON.stringify(line.toString('latin1')).slice(1, -1)}\\r\\nPASS x\\r\\n`,
      expect: '-ERR',
      async run(t) {
        const w = await t.pop3();
        await popCmd(w, line);
        const cls = await popCmd(w, 'PASS wrong-password-1');
        assert.doesNotMatch(w.text(0), /%n|passwd|OR '1'/);
        return cls;
      },
    }),
  ),
  {
    id: 'R140',
    title: 'POP3 slowloris before login: -ERR and close by the login deadline',
    sends: '"USER x" trickled one byte per 100 ms, never a CRLF',
    expect: '-ERR+close',
    async run(t) {
      const w = await t.pop3();
      const start = Date.now();
      for (let i = 0; !w.closed && Date.now() - start < 40_000; i++) {
        await w.send('USER slow'[i % 9]);
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(w.closed, 'still open after 40 s');
      assert.match(w.text(), /-ERR [^\r\n]*\r\n$/);
      return '-ERR+close';
    },
  },
  // ------------------------------------------------------------ hostile LMTP input
  ...(
    [
      ['R141', 'RCPT TO:<%s%n%x@example.com>', '5xx', 'a format string as the recipient'],
      ['R142', 'RCPT TO:<../../etc/passwd>', '5xx', 'a path as the recipient'],
      ['R143', "RCPT TO:<alice@example.com' OR '1'='1>", '5xx', 'SQL injection in the recipient'],
      ['R144', 'RCPT TO:<nobody@example.com>', '5xx', 'an unknown recipient'],
    ] as const
  ).map(
    ([id, line, expect, what]): Case => ({
      id,
      title: `LMTP ${what}: ${expect}, the session goes on`,
      sends: `MAIL FROM:<s@example.org>\\r\\n${line}\\r\\n`,
      expect: [expect, '2xx'],
      async run(t) {
        const w = await t.lmtp();
        await lmtpCmd(w, 'MAIL FROM:<s@example.org>');
        const cls = await lmtpCmd(w, line);
        // The recipient may be echoed (RFC 5321 §4.2), but only inside one well-formed reply line.
        for (const l of w.sinceMark().split('\r\n').slice(0, -1)) assert.match(l, /^\d{3}[ -][\x20-\x7e]*$/);
        return [cls, await lmtpCmd(w, 'RSET')];
      },
    }),
  ),
  {
    id: 'R145',
    title: 'LMTP a 100 KB RCPT line: 421 and close (the line limit of smtp-server), nothing delivered',
    sends: 'MAIL FROM:<s@example.org>\\r\\nRCPT TO:<"a" × 100,000 @example.com>\\r\\n',
    expect: ['4xx', 'close'],
    async run(t) {
      const w = await t.lmtp();
      await lmtpCmd(w, 'MAIL FROM:<s@example.org>');
      const cls = await lmtpCmd(w, `RCPT TO:<${'a'.repeat(100000)}@example.com>`);
      await w.waitClosed();
      assert.doesNotMatch(w.sinceMark(), /a{200}/, 'the long line was echoed');
      return [cls, 'close'];
    },
  },
  {
    id: 'R146',
    title: 'LMTP: NUL and CRLF tricks in MAIL FROM: 5xx',
    sends: 'MAIL FROM:<a\\0b@example.org>\\r\\n',
    expect: ['5xx', '2xx'],
    async run(t) {
      const w = await t.lmtp();
      const cls = await lmtpCmd(w, Buffer.from('MAIL FROM:<a\0b@example.org>', 'latin1'));
      return [cls, await lmtpCmd(w, 'NOOP')];
    },
  },
  {
    id: 'R147',
    title: 'LMTP: DATA before RCPT: 5xx; then a proper transaction works',
    sends: 'DATA\\r\\n',
    expect: ['5xx', '2xx'],
    async run(t) {
      const w = await t.lmtp();
      const bad = await lmtpCmd(w, 'DATA');
      await lmtpCmd(w, 'MAIL FROM:<s@example.org>');
      await lmtpCmd(w, `RCPT TO:<${t.users.gina.address}>`);
      await lmtpCmd(w, 'DATA');
      w.mark();
      await w.send(`${message('lmtp ok')}.\r\n`);
      return [bad, await w.smtpAnswer()];
    },
  },
  {
    id: 'R148',
    title: 'LMTP: a message whose internal error must not reach the MTA (bytes after "." are commands, not data)',
    sends: 'DATA … "\\r\\n.\\r\\nRSET\\r\\n" in one write',
    expect: ['2xx', '2xx'],
    async run(t) {
      const w = await t.lmtp();
      await lmtpCmd(w, 'MAIL FROM:<s@example.org>');
      await lmtpCmd(w, `RCPT TO:<${t.users.gina.address}>`);
      await lmtpCmd(w, 'DATA');
      w.mark();
      await w.send(`${message('pipelined')}.\r\nRSET\r\n`);
      const data = await w.smtpAnswer();
      await w.waitFor(/\r\n250 [^\r\n]*\r\n$/);
      return [data, '2xx'];
    },
  },
];

reliabilitySuite(
  'reliability: TLS, logins, POP3 and LMTP',
  {
    users: ['alice', 'frank', 'gina'],
    async setup(t) {
      for (let i = 0; i < 4; i++) assert.equal(await t.deliver(t.users.frank, message(`pop ${i}`)), '2xx');
      for (let i = 0; i < 2; i++) assert.equal(await t.deliver(t.users.gina, message(`gina ${i}`)), '2xx');
    },
  },
  cases,
);

