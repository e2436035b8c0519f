/**
 * A mailbox built for SORT and THREAD (RFC 5256, RFC 5957): subjects with
 * Re:/Fwd:/[tags]/(fwd) decorations, References and In-Reply-To chains
 * (including a parent that never arrived and a reply older than its parent),
 * missing Date and Subject headers, names with and without display names,
 * and parts in base64 and quoted-printable for BINARY (RFC 3516).
 * Delivered, in this order, into the mailbox `Threads` on both servers.
 */

interface ThreadMessage {
  headers: string[];
  body?: string;
}

const M: ThreadMessage[] = [
  {
    headers: [
      'From: Zed Zimmer <zed@example.org>',
      'To: Bob <bob@example.com>',
      'Cc: carol@example.net',
      'Subject: Project kickoff',
      'Date: Mon, 1 Jan 2024 10:00:00 +0000',
      'Message-ID: <t1@threads.test>',
    ],
  },
  {
    headers: [
      'From: alice@example.com',
      'To: Zed Zimmer <zed@example.org>',
      'Subject: Re: Project kickoff',
      'Date: Tue, 2 Jan 2024 09:00:00 +0000',
      'Message-ID: <t2@threads.test>',
      'In-Reply-To: <t1@threads.test>',
      'References: <t1@threads.test>',
    ],
  },
  {
    headers: [
      'From: "Carol C." <carol@example.net>',
      'To: alice@example.com',
      'Subject: RE: [dev] Re: Project kickoff',
      'Date: Wed, 3 Jan 2024 08:30:00 -0500',
      'Message-ID: <t3@threads.test>',
      'References: <t1@threads.test> <t2@threads.test>',
    ],
    body: 'Agreed.\r\n',
  },
  {
    headers: [
      'From: Bob <bob@example.com>',
      'To: alice@example.com',
      'Subject: Fwd: Budget',
      'Date: Sun, 31 Dec 2023 23:59:59 +0000',
      'Message-ID: <t4@threads.test>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b4"',
    ],
    body:
      '--b4\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n' +
      'Das Budget f=C3=BCr 2024 =E2=80=93 siehe Anhang.=\r\nSoft break.\r\n' +
      '--b4\r\nContent-Type: application/octet-stream; name="budget.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n' +
      // The octets 0..255, in 76-character lines (RFC 2045 §6.8).
      'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4\r\nOTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3Bx\r\ncnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmq\r\nq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj\r\n5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w==\r\n' +
      '--b4\r\nContent-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\nplain 7bit part\r\n' +
      '--b4--\r\n',
  },
  {
    headers: ['From: Bob <bob@example.com>', 'To: alice@example.com', 'Subject: Budget (fwd)', 'Message-ID: <t5@threads.test>'],
    body: 'No Date header: sorted by arrival.\r\n',
  },
  {
    headers: [
      'From: =?UTF-8?Q?Ren=C3=A9e?= <renee@example.fr>',
      'To: "Dev List" <dev@example.org>',
      'Subject: [dev] Release plan',
      'Date: Fri, 5 Jan 2024 10:00:00 +0100',
      'Message-ID: <t6@threads.test>',
    ],
  },
  {
    headers: [
      'From: alice@example.com',
      'To: "Dev List" <dev@example.org>',
      'Subject: Re: Release plan',
      'Date: Thu, 4 Jan 2024 10:00:00 +0000',
      'Message-ID: <t7@threads.test>',
      'In-Reply-To: <t6@threads.test>',
    ],
  },
  {
    headers: [
      'From: Zed Zimmer <zed@example.org>',
      'To: "Dev List" <dev@example.org>',
      'Subject: Re: Re: Release plan',
      'Date: Sat, 6 Jan 2024 10:00:00 +0000',
      'Message-ID: <t8@threads.test>',
      'References: <t6@threads.test> <t7@threads.test>',
    ],
  },
  {
    headers: [
      'From: carol@example.net',
      'To: bob@example.com',
      'Subject: Re: Lost thread',
      'Date: Sun, 7 Jan 2024 10:00:00 +0000',
      'Message-ID: <t9@threads.test>',
      'References: <never-arrived@threads.test>',
    ],
  },
  {
    headers: [
      'From: Bob <bob@example.com>',
      'To: carol@example.net',
      'Subject: Re: Lost thread',
      'Date: Sun, 7 Jan 2024 11:00:00 +0000',
      'Message-ID: <t10@threads.test>',
      'References: <never-arrived@threads.test>',
    ],
  },
  {
    headers: ['From: nobody@example.com', 'To: alice@example.com', 'Message-ID: <t11@threads.test>'],
    body: 'Neither Subject nor Date.\r\n',
  },
  {
    headers: [
      'From: Bob <bob@example.com>',
      'To: alice@example.com',
      'Subject: [Fwd: Budget]',
      'Date: Mon, 8 Jan 2024 10:00:00 +0000',
      'Message-ID: <t12@threads.test>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: base64',
    ],
    body: 'SGFsbG8gV2VsdCwgZGFzIGlzdCBkZXIgQnVkZ2V0LUFuaGFuZy4K\r\n',
  },
  {
    headers: [
      'From: Zed Zimmer <zed@example.org>',
      'To: alice@example.com',
      'Subject: =?UTF-8?Q?R=C3=A9union?=',
      'Date: Tue, 9 Jan 2024 10:00:00 +0000',
      'Message-ID: <t13@threads.test>',
      'In-Reply-To: <t8@threads.test>',
    ],
  },
];

export function threadCorpus(): Buffer[] {
  return M.map(({ headers, body }) => Buffer.from(`${headers.join('\r\n')}\r\n\r\n${body ?? 'Hello.\r\n'}`));
}

/** Run with the mailbox `Threads` selected. */
export const SORT_THREAD_COMMANDS = [
  'SORT (SUBJECT) UTF-8 ALL',
  'SORT (REVERSE SUBJECT) UTF-8 ALL',
  'SORT (DATE) UTF-8 ALL',
  'SORT (REVERSE DATE) UTF-8 ALL',
  'SORT (ARRIVAL) UTF-8 ALL',
  'SORT (REVERSE ARRIVAL) UTF-8 ALL',
  'SORT (SIZE) UTF-8 ALL',
  'SORT (REVERSE SIZE) UTF-8 ALL',
  'SORT (FROM) UTF-8 ALL',
  'SORT (TO) UTF-8 ALL',
  'SORT (CC) UTF-8 ALL',
  'SORT (DISPLAYFROM) UTF-8 ALL',
  'SORT (DISPLAYTO) UTF-8 ALL',
  'SORT (SUBJECT DATE) UTF-8 ALL',
  'SORT (SUBJECT REVERSE DATE) UTF-8 ALL',
  'SORT (FROM REVERSE SIZE) UTF-8 ALL',
  'SORT (DATE) US-ASCII SINCE 3-Jan-2024',
  'SORT (SUBJECT) UTF-8 SUBJECT budget',
  'SORT (REVERSE DATE) UTF-8 OR FROM bob FROM zed',
  'UID SORT (DATE) UTF-8 ALL',
  'UID SORT (REVERSE SUBJECT) UTF-8 UID 2:9',
  'SORT (DATE) UTF-8 NOT ALL',
  'SORT (NOSUCHKEY) UTF-8 ALL',
  'SORT (DATE) X-UNKNOWN ALL',
  'THREAD ORDEREDSUBJECT UTF-8 ALL',
  'THREAD REFERENCES UTF-8 ALL',
  'UID THREAD ORDEREDSUBJECT UTF-8 ALL',
  'UID THREAD REFERENCES UTF-8 ALL',
  'THREAD REFERENCES UTF-8 SUBJECT release',
  'THREAD ORDEREDSUBJECT UTF-8 FROM bob',
  'UID THREAD REFERENCES US-ASCII UID 1:3,6:8',
  'THREAD REFERENCES UTF-8 NOT ALL',
  'THREAD NOSUCHALGORITHM UTF-8 ALL',
];

/** ESORT (RFC 5267 §3.2), run with `Threads` selected: the sorted result in an ESEARCH response. */
export const ESORT_COMMANDS = [
  'SORT RETURN (ALL) (SUBJECT) UTF-8 ALL',
  'SORT RETURN () (REVERSE DATE) UTF-8 ALL',
  'SORT RETURN (COUNT) (ARRIVAL) UTF-8 ALL',
  'SORT RETURN (MIN) (SUBJECT) UTF-8 ALL',
  'SORT RETURN (MAX) (SUBJECT) UTF-8 ALL',
  'SORT RETURN (MIN MAX COUNT) (REVERSE SIZE) UTF-8 ALL',
  'UID SORT RETURN (ALL COUNT) (FROM REVERSE SIZE) UTF-8 ALL',
  'SORT RETURN (COUNT) (SUBJECT) UTF-8 NOT ALL',
  'SORT RETURN (ALL) (SUBJECT) UTF-8 NOT ALL',
];

/** BINARY (RFC 3516) of the base64 and quoted-printable parts above, by sequence number in `Threads`. */
export const BINARY_COMMANDS = [
  'FETCH 4 (BINARY.SIZE[1] BINARY.SIZE[2] BINARY.SIZE[3])',
  'FETCH 4 (BINARY.PEEK[1])',
  'FETCH 4 (BINARY.PEEK[2])',
  'FETCH 4 (BINARY.PEEK[3])',
  'FETCH 4 (BINARY.PEEK[2]<4.8>)',
  'FETCH 4 (BINARY.PEEK[1]<0.5>)',
  'FETCH 12 (BINARY.SIZE[1] BINARY.PEEK[1])',
  'FETCH 12 (BINARY.PEEK[])',
  'FETCH 12 (BINARY.SIZE[])',
  'UID FETCH 4 (BINARY.SIZE[2])',
  'FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])',
  'FETCH 4 (BINARY.PEEK[9])',
];

/** BINARY of a multipart part, run on INBOX message 5 (deep-nesting.eml): Dovecot decodes the leaves inside (C16). */
export const BINARY_MULTIPART_COMMANDS = ['FETCH 5 (BINARY.PEEK[1.1.2])', 'FETCH 5 (BINARY.SIZE[1.1.2])'];
