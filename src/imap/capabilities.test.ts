/**
 * CAPABILITY lists exactly what is implemented: every capability the server
 * announces after login must have a row below that exercises one of its
 * commands, so an extension cannot be advertised before it works. The
 * greeting, the CAPABILITY command and the [CAPABILITY] of the LOGIN OK agree.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encodePlain } from '../protocol/sasl/plain.js';
import { ScramClient } from '../../test/helpers/scram-client.js';
import { progressTiming } from './progress.js';
import { ALICE, type Client, createHarness, type Harness, message, PASSWORD } from './harness.test.js';

type Check = (c: Client) => Promise<void>;
/** The harness of the running suite, for rows that need a second session. */
let current: Harness;

const ok = (r: string, re: RegExp = /./) => {
  assert.match(r, /(^|\r\n)t\d+ OK [^\r]*\r\n$/, r);
  assert.match(r, re, r);
};
const m = message();
const lit = `{${m.length}+}\r\n${m.toString('latin1')}`;

/** One row per capability: a command of the extension and a check of its answer. */
const AFTER_LOGIN: Record<string, Check> = {
  IMAP4rev2: async (c) => ok(await c.cmd('ENABLE IMAP4rev2'), /\* ENABLED IMAP4rev2\r\n/),
  IMAP4rev1: async (c) => ok(await c.cmd('SELECT INBOX'), /\* \d+ RECENT\r\n/),
  'LITERAL+': async (c) => ok(await c.cmd('STATUS {5+}\r\nINBOX (MESSAGES)'), /\* STATUS "INBOX" \(MESSAGES 1\)/),
  ENABLE: async (c) => ok(await c.cmd('ENABLE UTF8=ACCEPT'), /\* ENABLED UTF8=ACCEPT/),
  IDLE: async (c) => {
    c.conn.take();
    c.conn.send('i IDLE\r\n');
    await c.conn.waitFor('+ ');
    c.conn.send('DONE\r\n');
    assert.match(await c.waitTagged('i'), /i OK/);
  },
  NAMESPACE: async (c) => ok(await c.cmd('NAMESPACE'), /\* NAMESPACE \(\(""/),
  ID: async (c) => ok(await c.cmd('ID NIL'), /\* ID \("name" "Mailstead"/),
  // Rows leave INBOX as they found it (one message, UID 1), so they run in any order.
  UIDPLUS: async (c) => {
    const uid = /\[APPENDUID \d+ (\d+)\]/.exec(await c.cmd(`APPEND INBOX ${lit}`))![1];
    await c.cmd('SELECT INBOX');
    await c.cmd(`UID STORE ${uid} +FLAGS.SILENT (\\Deleted)`);
    ok(await c.cmd(`UID EXPUNGE ${uid}`), /\* 2 EXPUNGE\r\n/);
  },
  MOVE: async (c) => {
    const uid = /\[APPENDUID \d+ (\d+)\]/.exec(await c.cmd(`APPEND INBOX ${lit}`))![1];
    await c.cmd('SELECT INBOX');
    ok(await c.cmd(`UID MOVE ${uid} Archive`), new RegExp(`\\[COPYUID \\d+ ${uid} \\d+\\]`));
  },
  UNSELECT: async (c) => {
    await c.cmd('SELECT INBOX');
    ok(await c.cmd('UNSELECT'));
    assert.match(await c.cmd('FETCH 1 FLAGS'), /BAD No mailbox selected/);
  },
  CHILDREN: async (c) => ok(await c.cmd('LIST "" INBOX'), /\\HasNoChildren/),
  'SPECIAL-USE': async (c) => ok(await c.cmd('LIST (SPECIAL-USE) "" "*"'), /\\Sent\) "\/" "Sent"/),
  'CREATE-SPECIAL-USE': async (c) => ok(await c.cmd('CREATE Kept (USE (\\Archive))')),
  'LIST-EXTENDED': async (c) => ok(await c.cmd('LIST (SUBSCRIBED) "" "*" RETURN (CHILDREN)'), /\\Subscribed/),
  'LIST-STATUS': async (c) => ok(await c.cmd('LIST "" INBOX RETURN (STATUS (MESSAGES))'), /\* STATUS "INBOX" \(MESSAGES 1\)/),
  MULTIAPPEND: async (c) => ok(await c.cmd(`APPEND Drafts ${lit} ${lit}`), /APPENDUID \d+ 1:2\]/),
  ESEARCH: async (c) => {
    await c.cmd('SELECT INBOX');
    ok(await c.cmd('UID SEARCH RETURN (COUNT) ALL'), /\* ESEARCH \(TAG "t\d+"\) UID COUNT 1/);
  },
  'UTF8=ACCEPT': async (c) => {
    await c.cmd('ENABLE UTF8=ACCEPT');
    ok(await c.cmd('CREATE "Ünïcode"'));
  },
  'STATUS=SIZE': async (c) => ok(await c.cmd('STATUS INBOX (SIZE)'), new RegExp(`\\(SIZE ${m.length}\\)`)),
  'COMPRESS=DEFLATE': async (c) => {
    assert.equal(await c.cmd('COMPRESS DEFLATE', 'z'), 'z OK DEFLATE active\r\n');
    assert.equal(c.conn.compressed, true);
    ok(await c.cmd('NOOP'));
  },
  QUOTA: async (c) => ok(await c.cmd('GETQUOTAROOT INBOX'), /\* QUOTAROOT "INBOX" ""\r\n\* QUOTA "" \(STORAGE \d+ 1024\)/),
  'QUOTA=RES-STORAGE': async (c) => ok(await c.cmd('GETQUOTA ""'), /STORAGE/),
  'APPENDLIMIT=': async (c) => ok(await c.cmd('STATUS INBOX (APPENDLIMIT)'), /APPENDLIMIT 1048576\)/),
  // Rows for extensions of the search and fetch side, so they can be announced once they work.
  SORT: async (c) => {
    await c.cmd('SELECT INBOX');
    ok(await c.cmd('SORT (SUBJECT) UTF-8 ALL'), /\* SORT 1/);
  },
  'SORT=DISPLAY': async (c) => {
    await c.cmd('SELECT INBOX');
    ok(await c.cmd('SORT (DISPLAYFROM) UTF-8 ALL'), /\* SORT 1/);
  },
  'THREAD=ORDEREDSUBJECT': async (c) => {
    await c.cmd('SELECT INBOX');
    ok(await c.cmd('THREAD ORDEREDSUBJECT UTF-8 ALL'), /\* THREAD \(1\)/);
  },
  'THREAD=REFERENCES': async (c) => {
    await c.cmd('SELECT INBOX');
    ok(await c.cmd('THREAD REFERENCES UTF-8 ALL'), /\* THREAD \(1\)/);
  },
  SEARCHRES: async (c) => {
    await c.cmd('SELECT INBOX');
    ok(await c.cmd('SEARCH RETURN (SAVE) ALL'));
    ok(await c.cmd('FETCH $ (UID)'), /\* 1 FETCH \(UID 1\)/);
  },
  BINARY: async (c) => {
    await c.cmd('SELECT INBOX');
    ok(await c.cmd('FETCH 1 (BINARY.SIZE[1])'), /BINARY\.SIZE\[1\] \d+/);
  },
  OBJECTID: async (c) => {
    const id = /\* OK \[MAILBOXID \((\w+)\)\]/.exec(await c.cmd('SELECT INBOX'))![1];
    ok(await c.cmd('STATUS INBOX (MAILBOXID)'), new RegExp(`\\* STATUS "INBOX" \\(MAILBOXID \\(${id}\\)\\)`));
    ok(await c.cmd('FETCH 1 (EMAILID THREADID)'), /EMAILID \(\S+\) THREADID/);
    const created = /OK \[MAILBOXID \((\w+)\)\] CREATE completed/.exec(await c.cmd('CREATE Ids'))![1];
    assert.notEqual(created, id);
    await c.cmd('RENAME Ids Ids2');
    ok(await c.cmd('STATUS Ids2 (MAILBOXID)'), new RegExp(`MAILBOXID \\(${created}\\)`));
    await c.cmd('DELETE Ids2');
  },
  // Issue 5: RFC 5465; a second session's delivery and CREATE reach this one at its next command.
  NOTIFY: async (c) => {
    ok(await c.cmd('NOTIFY SET STATUS (SELECTED (MessageNew MessageExpunge)) (PERSONAL (MessageNew MessageExpunge MailboxName))'), /\* STATUS "Drafts" \(MESSAGES \d+ UIDNEXT \d+ UIDVALIDITY \d+ UNSEEN \d+\)/);
    const other = await current.open({ login: true });
    const m = message({ subject: 'notify row' });
    await other.cmd(`APPEND Junk {${m.length}+}\r\n${m.toString('latin1')}`);
    await other.cmd('CREATE Notified');
    const r = await c.cmd('NOOP');
    assert.match(r, /\* LIST \(\\HasNoChildren\) "\/" "Notified"\r\n/, r);
    assert.match(r, /\* STATUS "Junk" \(MESSAGES \d+ UIDNEXT \d+ UNSEEN \d+\)\r\n/, r);
    await other.cmd('DELETE Notified');
    assert.match(await c.cmd('NOTIFY SET (PERSONAL (AnnotationChange))'), /NO \[BADEVENT \(MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange\)\]/);
    ok(await c.cmd('NOTIFY NONE'));
  },
  SAVEDATE: async (c) => {
    await c.cmd('SELECT INBOX');
    ok(await c.cmd('FETCH 1 (SAVEDATE)'), /SAVEDATE /);
  },
  PREVIEW: async (c) => {
    await c.cmd('SELECT INBOX');
    ok(await c.cmd('FETCH 1 (PREVIEW)'), /PREVIEW "Hello Alice/);
  },
  // Issue 5: RFC 7162 resynchronisation.
  CONDSTORE: async (c) => {
    ok(await c.cmd('SELECT INBOX (CONDSTORE)'), /\* OK \[HIGHESTMODSEQ \d+\]/);
    ok(await c.cmd('FETCH 1 (MODSEQ)'), /\* 1 FETCH \(MODSEQ \(\d+\)\)/);
    ok(await c.cmd('STORE 1 (UNCHANGEDSINCE 0) +FLAGS (\\Flagged)'), /OK \[MODIFIED 1\]/);
  },
  QRESYNC: async (c) => {
    const uidValidity = /UIDVALIDITY (\d+)/.exec(await c.cmd('STATUS INBOX (UIDVALIDITY)'))![1];
    ok(await c.cmd('ENABLE QRESYNC'), /\* ENABLED QRESYNC/);
    ok(await c.cmd(`SELECT INBOX (QRESYNC (${uidValidity} 1))`), /\* 1 FETCH \(UID 1 FLAGS \([^)]*\) MODSEQ \(\d+\)\)/);
  },
  INPROGRESS: async (c) => {
    await c.cmd('SELECT INBOX');
    const domain = current.domain;
    const original = domain.messagesByUid;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    domain.messagesByUid = async (...args) => {
      domain.messagesByUid = original;
      await gate;
      return original.apply(domain, args);
    };
    const saved = { ...progressTiming };
    Object.assign(progressTiming, { firstMs: 0, everyMs: 1000 });
    try {
      c.conn.take();
      c.conn.send('p1 SEARCH ALL\r\n');
      await c.conn.waitFor('* OK [INPROGRESS ("p1" NIL NIL)] ');
      release();
      assert.match(await c.waitTagged('p1'), /\* SEARCH 1\r\np1 OK /);
    } finally {
      Object.assign(progressTiming, saved);
    }
  },
  ESORT: async (c) => {
    await c.cmd('SELECT INBOX');
    ok(await c.cmd('UID SORT RETURN (COUNT ALL) (SUBJECT) UTF-8 ALL'), /\* ESEARCH \(TAG "t\d+"\) UID ALL 1 COUNT 1\r\n/);
  },
  METADATA: async (c) => {
    ok(await c.cmd('SETMETADATA INBOX (/private/comment "caps")'));
    ok(await c.cmd('GETMETADATA INBOX /private/comment'), /\* METADATA INBOX \(\/private\/comment \{4\}\r\ncaps\)\r\n/);
    ok(await c.cmd('SETMETADATA INBOX (/private/comment NIL)'));
  },
  ACL: async (c) => ok(await c.cmd('MYRIGHTS INBOX'), /\* MYRIGHTS INBOX lrswipkxtea\r\n/),
  'RIGHTS=texk': async (c) => {
    ok(await c.cmd('SETACL INBOX anyone d'));
    ok(await c.cmd('GETACL INBOX'), /\* ACL INBOX alice@example\.com lrswipkxtea anyone xte\r\n/);
    ok(await c.cmd('DELETEACL INBOX anyone'));
  },
  'METADATA-SERVER': async (c) => {
    ok(await c.cmd('SETMETADATA "" (/private/vendor/test "caps")'));
    ok(await c.cmd('GETMETADATA "" /private/vendor/test'), /\* METADATA "" \(\/private\/vendor\/test \{4\}\r\ncaps\)\r\n/);
    ok(await c.cmd('SETMETADATA "" (/private/vendor/test NIL)'));
  },
  PARTIAL: async (c) => {
    await c.cmd('SELECT INBOX');
    ok(await c.cmd('UID SEARCH RETURN (PARTIAL -1:-10) ALL'), /\* ESEARCH \(TAG "t\d+"\) UID PARTIAL \(-1:-10 1\)\r\n/);
  },
  'CONTEXT=SEARCH': async (c) => {
    await c.cmd('SELECT INBOX');
    const tag = /\* ESEARCH \(TAG "(t\d+)"\) UID\r\n/.exec(await c.cmd('UID SEARCH RETURN (UPDATE ALL) FLAGGED'))![1];
    ok(await c.cmd('UID STORE 1 +FLAGS.SILENT (\\Flagged)'), new RegExp(`^\\* ESEARCH \\(TAG "${tag}"\\) UID ADDTO \\(0 1\\)\r\n`));
    ok(await c.cmd(`CANCELUPDATE "${tag}"`));
    ok(await c.cmd('UID STORE 1 -FLAGS.SILENT (\\Flagged)'), /^t\d+ OK /);
  },
  'CONTEXT=SORT': async (c) => {
    await c.cmd('SELECT INBOX');
    const tag = /\* ESEARCH \(TAG "(t\d+)"\) UID\r\n/.exec(await c.cmd('UID SORT RETURN (UPDATE) (SUBJECT) UTF-8 FLAGGED'))![1];
    ok(await c.cmd('UID STORE 1 +FLAGS.SILENT (\\Flagged)'), new RegExp(`^\\* ESEARCH \\(TAG "${tag}"\\) UID ADDTO \\(1 1\\)\r\n`));
    ok(await c.cmd('UID STORE 1 -FLAGS.SILENT (\\Flagged)'), new RegExp(`^\\* ESEARCH \\(TAG "${tag}"\\) UID REMOVEFROM \\(1 1\\)\r\n`));
  },
  'I18NLEVEL=1': async (c) => {
    const m = message({ subject: '=?UTF-8?Q?caf=C3=89?=' });
    const uid = /\[APPENDUID \d+ (\d+)\]/.exec(await c.cmd(`APPEND INBOX {${m.length}+}\r\n${m.toString('latin1')}`))![1];
    await c.cmd('SELECT INBOX');
    // "café" with a combining accent, lower case, finds "CAFÉ" (i;unicode-casemap, RFC 5051).
    const needle = 'cafe\u0301';
    ok(await c.cmd(`UID SEARCH CHARSET UTF-8 SUBJECT {${Buffer.byteLength(needle)}+}\r\n${needle}`), new RegExp(`^\\* SEARCH ${uid}\r\n`));
    await c.cmd(`UID STORE ${uid} +FLAGS.SILENT (\\Deleted)`);
    ok(await c.cmd(`UID EXPUNGE ${uid}`));
  },
  UIDONLY: async (c) => {
    ok(await c.cmd('ENABLE UIDONLY'), /\* ENABLED UIDONLY\r\n/);
    await c.cmd('SELECT INBOX');
    ok(await c.cmd('UID FETCH 1 (FLAGS)'), /\* 1 UIDFETCH \(FLAGS \(/);
    assert.match(await c.cmd('FETCH 1 (FLAGS)'), /^t\d+ BAD \[UIDREQUIRED\] /);
  },
  'MESSAGELIMIT=': async () => {
    const c = await current.open({ login: true, ctx: { messageLimit: 1 } });
    assert.match(await c.cmd('CAPABILITY'), / MESSAGELIMIT=1[ \r]/);
    const uid = /\[APPENDUID \d+ (\d+)\]/.exec(await c.cmd(`APPEND INBOX ${lit}`))![1];
    await c.cmd('SELECT INBOX');
    ok(await c.cmd('UID FETCH 1:* (UID)'), new RegExp(`^\\* 2 FETCH \\(UID ${uid}\\)\r\nt\\d+ OK \\[MESSAGELIMIT 1 ${uid}\\] `));
    await c.cmd(`UID STORE ${uid} +FLAGS.SILENT (\\Deleted)`);
    ok(await c.cmd(`UID EXPUNGE ${uid}`));
  },
  REPLACE: async (c) => {
    const uid = /\[APPENDUID \d+ (\d+)\]/.exec(await c.cmd(`APPEND INBOX ${lit}`))![1];
    await c.cmd('SELECT INBOX');
    const r = await c.cmd(`UID REPLACE ${uid} Drafts ${lit}`);
    ok(r, /\* OK \[APPENDUID \d+ \d+\] [^\r]*\r\n\* 2 EXPUNGE\r\n/);
  },
  WITHIN: async (c) => {
    await c.cmd('SELECT INBOX');
    ok(await c.cmd('SEARCH YOUNGER 3600'), /\* (E?SEARCH)/);
  },
};

/** The row for a capability; `NAME=value` rows are keyed `NAME=` when the value is configuration. */
function rowFor(capability: string): Check | undefined {
  return AFTER_LOGIN[capability] ?? AFTER_LOGIN[capability.replace(/=\d+$/, '=')];
}

function capabilityList(text: string, pattern: RegExp): string[] {
  const m = pattern.exec(text);
  assert.ok(m, text);
  return m[1].split(' ');
}

describe('CAPABILITY lists exactly what is implemented', () => {
  let h: Harness;
  before(async () => {
    h = current = await createHarness({ quotaBytes: 1024 * 1024 });
    await h.domain.deliver(ALICE, message());
  });
  after(() => h.close());

  it('every capability announced after login has a working command (a row in the table)', async () => {
    const c = await h.open({ login: true });
    const caps = capabilityList(await c.cmd('CAPABILITY'), /\* CAPABILITY ([^\r]*)\r\n/);
    const missing = caps.filter((cap) => !rowFor(cap));
    assert.deepEqual(missing, [], `announced without a row in AFTER_LOGIN: ${missing.join(' ')}`);
    for (const cap of caps) {
      const fresh = await h.open({ login: true });
      await assert.doesNotReject(rowFor(cap)!(fresh), `capability ${cap}`);
    }
  });

  it('the greeting, CAPABILITY and the [CAPABILITY] of LOGIN, AUTHENTICATE PLAIN and SCRAM agree', async () => {
    const c = await h.open({ secure: true });
    const greeting = capabilityList(c.conn.take(), /^\* OK \[CAPABILITY ([^\]]*)\] Mailstead ready\r\n$/);
    assert.deepEqual(greeting, capabilityList(await c.cmd('CAPABILITY'), /\* CAPABILITY ([^\r]*)\r\n/));
    assert.deepEqual(greeting, ['IMAP4rev2', 'IMAP4rev1', 'LITERAL-', 'ENABLE', 'ID', 'AUTH=PLAIN', 'AUTH=SCRAM-SHA-256', 'SASL-IR']);
    const login = capabilityList(await c.cmd(`LOGIN ${ALICE} "${PASSWORD}"`), /OK \[CAPABILITY ([^\]]*)\] Logged in/);
    assert.deepEqual(login, capabilityList(await c.cmd('CAPABILITY'), /\* CAPABILITY ([^\r]*)\r\n/));
    assert.ok(!login.includes('LITERAL-') && login.includes('LITERAL+'));
    assert.ok(!login.some((cap) => cap.startsWith('AUTH=') || cap === 'STARTTLS' || cap === 'LOGINDISABLED'));

    const p = await h.open({ secure: true });
    assert.deepEqual(
      capabilityList(await p.cmd(`AUTHENTICATE PLAIN ${encodePlain(ALICE, PASSWORD)}`), /OK \[CAPABILITY ([^\]]*)\]/),
      login,
    );
    const s = await h.open({ secure: true });
    const scram = new ScramClient(ALICE, PASSWORD);
    s.conn.take();
    s.conn.send(`a AUTHENTICATE SCRAM-SHA-256 ${scram.first()}\r\n`);
    const first = /^\+ (\S+)\r\n$/.exec(await s.conn.waitFor(/\r\n$/))![1];
    s.conn.take();
    s.conn.send(scram.final(first) + '\r\n');
    await s.conn.waitFor(/\r\n$/);
    s.conn.take();
    s.conn.send('\r\n');
    assert.deepEqual(capabilityList(await s.waitTagged('a'), /OK \[CAPABILITY ([^\]]*)\]/), login);
  });

  it('before TLS on a plain port: STARTTLS and LOGINDISABLED, no AUTH=', async () => {
    const c = await h.open({ secure: false });
    const greeting = capabilityList(c.conn.take(), /^\* OK \[CAPABILITY ([^\]]*)\]/);
    assert.deepEqual(greeting, ['IMAP4rev2', 'IMAP4rev1', 'LITERAL-', 'ENABLE', 'ID', 'STARTTLS', 'LOGINDISABLED']);
    assert.match(await c.cmd('ID NIL'), /\* ID \("name" "Mailstead"/);
  });
});
