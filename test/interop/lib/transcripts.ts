/**
 * The IMAP command transcripts sent to both Mailstead and Dovecot: FETCH of
 * every part of every MIME fixture (derived from its BODYSTRUCTURE), SEARCH
 * keys of RFC 9051 §6.4.4, STATUS and LIST. Commands avoid anything whose
 * answer legitimately depends on the server's identity (ids, timings).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../helpers/server.js';
import { type Token, tokenize } from './imap-canonical.js';
import { interopMessage } from './mailstead.js';

export const FIXTURE_DIR = join(ROOT, 'test/fixtures/mime');

/** The corpus delivered to INBOX on both servers, in order (sequence number = index + 1). */
export function corpus(): { name: string; message: Buffer }[] {
  const fixtures = readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith('.eml'))
    .sort()
    .map((name) => ({ name, message: readFileSync(join(FIXTURE_DIR, name)) }));
  const searchable = [
    { name: 's1', message: Buffer.from(interopMessage('s1', 'Cc: Carol <carol@example.net>\r\nX-Priority: 1')) },
    {
      name: 's2',
      message: Buffer.from(
        'From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.de>\r\nTo: alice@example.com\r\n' +
          'Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgTcO8bmNoZW4=?=\r\nDate: Fri, 1 Mar 2019 12:00:00 +0100\r\n' +
          'Message-ID: <s2@interop.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n' +
          'Content-Transfer-Encoding: quoted-printable\r\n\r\nSch=C3=B6ne Gr=C3=BC=C3=9Fe vom Stra=C3=9Fenfest.\r\n',
      ),
    },
    { name: 's3', message: Buffer.from(interopMessage('s3', `X-Padding: ${'x'.repeat(1500)}`)) },
  ];
  return [...fixtures, ...searchable];
}

/** Flags set (with STORE) on both servers after delivery, by sequence number. */
export const FLAG_SETUP = ['STORE 1 +FLAGS (\\Seen)', 'STORE 2 +FLAGS (\\Flagged)', 'STORE 3 +FLAGS (\\Seen \\Answered)', 'STORE 4 +FLAGS ($Label1)', 'STORE 5 +FLAGS (\\Draft)'];

/** Part paths of a BODYSTRUCTURE (RFC 9051 §6.4.5 part numbering), with whether each is inside a multipart. */
export function partPaths(bs: Token[], prefix = '', multiparts = new Set<string>()): string[] {
  const paths: string[] = [];
  if (Array.isArray(bs[0])) {
    if (prefix) multiparts.add(prefix);
    // The children are the leading lists; the multipart's extension data (parameters list, …) follows the subtype.
    const children = bs.slice(0, bs.findIndex((x) => !Array.isArray(x))) as Token[][];
    children.forEach((child, i) => {
      const p = prefix ? `${prefix}.${i + 1}` : `${i + 1}`;
      paths.push(p, ...partPaths(child, p, multiparts));
    });
    return paths;
  }
  const type = `${str(bs[0])}/${str(bs[1])}`.toLowerCase();
  if (!prefix) paths.push('1');
  if (type === 'message/rfc822' && Array.isArray(bs[8])) {
    // [7] is the attached message's ENVELOPE, [8] its BODYSTRUCTURE (RFC 9051 §7.5.2).
    const p = prefix || '1';
    paths.push(`${p}.HEADER`, `${p}.TEXT`);
    const nested = bs[8];
    if (Array.isArray(nested[0])) paths.push(...partPaths(nested, p, multiparts));
    else paths.push(`${p}.1`);
  }
  return paths;
}

function str(t: Token | undefined): string {
  return t && typeof t === 'object' && !Array.isArray(t) ? t.s : String(t);
}

/** Extracts the BODYSTRUCTURE list from a `* n FETCH (BODYSTRUCTURE (...))` line. */
export function bodystructureOf(fetchLine: string): Token[] {
  const tokens = tokenize(fetchLine.replace(/^\* /, ''));
  const items = tokens[2] as Token[];
  const k = items.findIndex((x) => typeof x === 'string' && x.toUpperCase() === 'BODYSTRUCTURE');
  return items[k + 1] as Token[];
}

/** FETCH commands for message `seq`, given its BODYSTRUCTURE. */
export function fetchCommands(seq: number, bs: Token[]): string[] {
  const multipart = Array.isArray(bs[0]);
  const cmds = [
    'ENVELOPE',
    'BODYSTRUCTURE',
    'BODY',
    'RFC822.SIZE',
    'FLAGS',
    'BODY.PEEK[]',
    'BODY.PEEK[HEADER]',
    'BODY.PEEK[TEXT]',
    'BODY.PEEK[HEADER.FIELDS (FROM SUBJECT CONTENT-TYPE)]',
    'BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT DATE)]',
    'BODY.PEEK[]<0.20>',
    'BODY.PEEK[TEXT]<3.7>',
    'BODY.PEEK[]<100000.10>',
    'RFC822.HEADER',
    'FAST',
    'ALL',
  ].map((item) => `FETCH ${seq} (${item})`);
  const multiparts = new Set<string>();
  for (const p of partPaths(bs, '', multiparts)) {
    cmds.push(`FETCH ${seq} (BODY.PEEK[${p}])`);
    if (multipart && !/HEADER|TEXT/.test(p)) cmds.push(`FETCH ${seq} (BODY.PEEK[${p}.MIME])`);
    if (!/HEADER|TEXT/.test(p)) {
      cmds.push(`FETCH ${seq} (BODY.PEEK[${p}]<1.10>)`);
      // RFC 3516: the part with its Content-Transfer-Encoding undone, and its decoded size.
      // Not of a multipart: see C16 in known-differences.ts (BINARY_COMMANDS has one such case).
      if (!multiparts.has(p)) cmds.push(`FETCH ${seq} (BINARY.SIZE[${p}])`, `FETCH ${seq} (BINARY.PEEK[${p}])`);
    }
  }
  return cmds;
}

export const SEARCH_COMMANDS = [
  'SEARCH ALL',
  'SEARCH SEEN',
  'SEARCH UNSEEN',
  'SEARCH FLAGGED',
  'SEARCH NOT FLAGGED',
  'SEARCH ANSWERED',
  'SEARCH UNANSWERED',
  'SEARCH DRAFT',
  'SEARCH DELETED',
  'SEARCH KEYWORD $Label1',
  'SEARCH UNKEYWORD $Label1',
  'SEARCH OR SEEN FLAGGED',
  'SEARCH NOT (OR SEEN FLAGGED)',
  'SEARCH (SEEN ANSWERED) OR DRAFT FLAGGED',
  'SEARCH SUBJECT lunch',
  'SEARCH SUBJECT "afternoon MEETING"',
  'SEARCH FROM bob',
  'SEARCH FROM "example.com"',
  'SEARCH TO alice',
  'SEARCH CC carol',
  'SEARCH BCC nobody',
  'SEARCH BODY noon',
  'SEARCH TEXT noon',
  'SEARCH TEXT "Message-ID"',
  'SEARCH BODY "Message-ID"',
  'SEARCH BODY "inner@example.com"',
  'SEARCH BODY "Bob <bob@example.com>"',
  'SEARCH TEXT "boundary"',
  'SEARCH BODY "Content-Type"',
  'SEARCH HEADER Message-ID "<s1@interop.test>"',
  'SEARCH HEADER X-Priority ""',
  'SEARCH HEADER Subject Fwd',
  'SEARCH LARGER 1000',
  'SEARCH SMALLER 400',
  'SEARCH SENTBEFORE 1-Jan-2020',
  'SEARCH SENTSINCE 1-Jan-2024',
  'SEARCH SENTON 15-May-2024',
  'SEARCH SINCE 1-Jan-2000',
  'SEARCH BEFORE 1-Jan-2000',
  'SEARCH ON 1-Jan-2000',
  'SEARCH 2:4',
  'SEARCH 5:*',
  'SEARCH *',
  'SEARCH UID 1,3,5:6',
  'SEARCH UID 9:*',
  'SEARCH NEW',
  'SEARCH OLD',
  'SEARCH RECENT',
  'SEARCH CHARSET UTF-8 SUBJECT "Gr\u00c3\u00bc\u00c3\u009fe"',
  'SEARCH CHARSET UTF-8 BODY {7}\r\nSch\u00c3\u00b6ne',
  'SEARCH CHARSET UTF-8 FROM "M\u00c3\u00bcller"',
  'SEARCH SUBJECT Pr\u00c3\u00bcfung',
  'SEARCH CHARSET US-ASCII TEXT report',
  'SEARCH CHARSET X-UNKNOWN TEXT report',
  'UID SEARCH ALL',
  'UID SEARCH SEEN',
  'SEARCH NOT ALL',
  'SEARCH BADKEY',
];

export const MAILBOX_COMMANDS = [
  'LIST "" "*"',
  'LIST "" "%"',
  'LIST "" "Work/%"',
  'LIST "" ""',
  'LIST "" "inbox"',
  'LIST "Work/" "%"',
  'LSUB "" "*"',
  'LIST (SPECIAL-USE) "" "*"',
  'LIST "" "*" RETURN (CHILDREN)',
  'LIST (SUBSCRIBED) "" "*"',
  'STATUS INBOX (MESSAGES UNSEEN UIDNEXT UIDVALIDITY)',
  'STATUS "Work/Reports" (MESSAGES UIDNEXT)',
  'STATUS Nonexistent (MESSAGES)',
  'EXAMINE "Work/Reports"',
  'NAMESPACE',
  'SELECT INBOX',
];

/**
 * ESEARCH (RFC 4731) and SEARCHRES (RFC 5182) on INBOX, run in this order on
 * one connection: each `$` uses the result the previous SAVE left.
 */
export const ESEARCH_COMMANDS = [
  'SEARCH RETURN (MIN MAX COUNT) SEEN',
  'SEARCH RETURN (ALL) UNSEEN',
  'SEARCH RETURN () FLAGGED',
  'SEARCH RETURN (COUNT) DELETED',
  'SEARCH RETURN (MIN MAX) NOT ALL',
  'SEARCH RETURN (ALL) 2:4,7,9:*',
  'UID SEARCH RETURN (MIN MAX COUNT ALL) ALL',
  'UID SEARCH RETURN (COUNT) SUBJECT lunch',
  'SEARCH RETURN (SAVE) SEEN',
  'FETCH $ (FLAGS)',
  'UID FETCH $ (UID)',
  'SEARCH $',
  'SEARCH NOT $',
  'UID SEARCH UID $',
  'SEARCH RETURN (SAVE MIN) OR FLAGGED DRAFT',
  'FETCH $ (FLAGS)',
  'SEARCH RETURN (SAVE MAX COUNT) UNSEEN',
  'SEARCH $',
  'SEARCH RETURN (SAVE) NOT ALL',
  'SEARCH $',
  'SEARCH RETURN (SAVE ALL) 1:3',
  'SEARCH OR $ 16',
];

/** WITHIN (RFC 5032): every message was delivered moments ago. */
export const WITHIN_COMMANDS = [
  'SEARCH YOUNGER 3600',
  'SEARCH OLDER 3600',
  'SEARCH YOUNGER 3600 SEEN',
  'UID SEARCH NOT OLDER 86400',
  'SEARCH RETURN (COUNT) YOUNGER 86400',
];

/** STATUS=SIZE (RFC 8438), LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819). */
export const LIST_EXTENDED_COMMANDS = [
  'STATUS INBOX (SIZE MESSAGES)',
  'STATUS Threads (SIZE)',
  'STATUS "Work/Reports" (SIZE UIDNEXT UNSEEN)',
  'LIST "" "*" RETURN (STATUS (MESSAGES UNSEEN))',
  'LIST "" "*" RETURN (STATUS (SIZE UIDNEXT))',
  'LIST "" "%" RETURN (CHILDREN STATUS (MESSAGES))',
  'LIST (SUBSCRIBED) "" "*" RETURN (CHILDREN)',
  'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"',
  'LIST "" ("INBOX" "Work/*")',
  'LIST (REMOTE) "" "Work"',
  'LIST "" "%" RETURN (SUBSCRIBED)',
  'LIST (SPECIAL-USE) "" "*" RETURN (STATUS (MESSAGES))',
  'LIST "" "Nonexistent*" RETURN (STATUS (MESSAGES))',
];
