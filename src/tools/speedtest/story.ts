/**
 * The two-device story, played for real on the demo server (a child
 * process; imapflow and the POP3 client are fine here: nothing is timed) with a second
 * account: a laptop and a phone first on POP3 with download-and-delete (the
 * default of many POP3 clients), then both on IMAP. After each step we record
 * what each device holds and whether it shows as read.
 */
import type { ImapFlow } from 'imapflow';
import { Pop3Client } from '../clients/pop3-client.js';
import type { Demo } from './demo.js';
import { closeImapSession, type ImapSession, openImapSession } from './imap-session.js';
import type { DeviceMessage, StoryStep, TwoDeviceStory } from './types.js';
import { ms } from './table.js';

const STORY_ACCOUNT = 'story@localhost';
const STORY_PASSWORD = 'two-devices-story';

function storyMessage(n: number): Buffer {
  return Buffer.from(
    `From: Ada <ada@example.org>\r\nTo: ${STORY_ACCOUNT}\r\nSubject: Message ${n}\r\nMessage-ID: <story-${n}-${Date.now()}@mailstead.invalid>\r\nDate: ${new Date().toUTCString().replace('GMT', '+0000')}\r\n\r\nThis is message ${n}.\r\n`,
  );
}

const numberOf = (subject: string) => Number(/Message (\d+)/.exec(subject)?.[1] ?? 0);

export async function playStory(demo: Demo): Promise<TwoDeviceStory> {
  await demo.createAccount(STORY_ACCOUNT, STORY_PASSWORD);
  const deliver = async (...ns: number[]) => {
    for (const n of ns) await demo.deliver(STORY_ACCOUNT, storyMessage(n));
  };
  return { pop3: await pop3Story(demo, deliver), imap: await imapStory(demo, deliver) };
}

async function pop3Story(demo: Demo, deliver: (...ns: number[]) => Promise<void>): Promise<StoryStep[]> {
  const laptop: DeviceMessage[] = [];
  const phone: DeviceMessage[] = [];
  let server: number[] = [];
  const steps: StoryStep[] = [];
  const snap = (action: string, note: string) =>
    steps.push({ action, laptop: laptop.map((m) => ({ ...m })), phone: phone.map((m) => ({ ...m })), server: [...server], note });
  // Download-and-delete: RETR every message, DELE it, QUIT (RFC 1939 §6 applies the deletions).
  const check = async (device: DeviceMessage[]) => {
    const c = new Pop3Client({ host: '127.0.0.1', port: demo.ports.pop3s, security: 'tls', ca: [demo.certPem], servername: 'localhost' });
    await c.connect();
    await c.login(STORY_ACCOUNT, STORY_PASSWORD);
    let got = 0;
    for (const { number } of await c.list()) {
      const subject = /^Subject: (.*)$/m.exec((await c.retr(number)).toString('utf8'))?.[1] ?? '';
      device.push({ id: numberOf(subject), subject, seen: false });
      await c.dele(number);
      got++;
    }
    await c.quit();
    server = [];
    return got;
  };

  await deliver(1, 2, 3);
  server = [1, 2, 3];
  snap('Messages 1–3 arrive', 'Both devices are set to POP3, download and delete.');
  let got = await check(laptop);
  snap('Laptop checks mail', `The laptop took ${got} messages and deleted them from the server.`);
  await deliver(4, 5);
  server = [4, 5];
  snap('Messages 4–5 arrive', 'They wait on the server for whichever device checks first.');
  got = await check(phone);
  snap('Phone checks mail', `The phone got only ${got} messages: 1–3 are gone from the server.`);
  laptop[0].seen = true;
  snap('Laptop reads message 1', 'POP3 carries no read state: the phone never had message 1 and would not be told anyway.');
  got = await check(laptop);
  snap('Laptop checks again', `Nothing new (${got}): messages 4–5 live only on the phone. The mailbox is split in two.`);
  return steps;
}

async function imapStory(demo: Demo, deliver: (...ns: number[]) => Promise<void>): Promise<StoryStep[]> {
  const session = () =>
    openImapSession({
      target: { protocol: 'imap', implicitTls: true, host: '127.0.0.1', port: demo.ports.imaps, user: STORY_ACCOUNT, url: '' },
      password: STORY_PASSWORD,
      insecure: false,
      ca: [demo.certPem],
      servername: 'localhost',
    });
  const steps: StoryStep[] = [];
  let laptop: ImapSession | null = null;
  let phone: ImapSession | null = null;
  const held = async (s: ImapSession | null): Promise<DeviceMessage[]> => {
    if (!s || !s.client.mailbox || s.client.mailbox.exists === 0) return [];
    const list = await s.client.fetchAll('1:*', { uid: true, flags: true, envelope: true }, { uid: true });
    return list.map((m) => ({ id: numberOf(m.envelope?.subject ?? ''), subject: m.envelope?.subject ?? '', seen: m.flags?.has('\\Seen') ?? false }));
  };
  const snap = async (action: string, note: string) => {
    const l = await held(laptop);
    const p = await held(phone);
    const server = laptop ? l.map((m) => m.id) : p.map((m) => m.id);
    steps.push({ action, laptop: l, phone: p, server, note });
  };
  try {
    await deliver(1, 2, 3);
    await snap('Messages 1–3 arrive', 'Both devices are set to IMAP: the mail stays on the server.');
    laptop = await session();
    await laptop.client.mailboxOpen('INBOX');
    await snap('Laptop opens the inbox', 'The laptop shows messages 1–3; they stay on the server.');
    phone = await session();
    await phone.client.mailboxOpen('INBOX');
    await snap('Phone opens the inbox', 'The phone shows the same three messages.');

    let t = performance.now();
    const pushed = Promise.all([waitExists(laptop.client, 5), waitExists(phone.client, 5)]);
    void laptop.client.idle().catch(() => {});
    void phone.client.idle().catch(() => {});
    await new Promise((r) => setTimeout(r, 50));
    t = performance.now();
    await deliver(4, 5);
    await pushed;
    await snap('Messages 4–5 arrive', `Both devices were told by IDLE within ${ms(performance.now() - t)}.`);

    const told = waitSeen(phone.client);
    void phone.client.idle().catch(() => {});
    await new Promise((r) => setTimeout(r, 50));
    t = performance.now();
    const first = (await laptop.client.fetchAll('1', { uid: true }, {}))[0].uid;
    await laptop.client.messageFlagsAdd(String(first), ['\\Seen'], { uid: true });
    await told;
    await snap('Laptop reads message 1', `The phone shows message 1 as read ${ms(performance.now() - t)} later.`);

    const second = (await phone.client.fetchAll('2', { uid: true }, {}))[0].uid;
    await phone.client.messageDelete(String(second), { uid: true });
    await laptop.client.noop();
    await snap('Phone deletes message 2', 'Gone on the laptop too: one mailbox, two windows onto it.');
  } finally {
    await closeImapSession(laptop);
    await closeImapSession(phone);
  }
  return steps;
}

function waitExists(client: ImapFlow, count: number): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (client.mailbox && client.mailbox.exists >= count) {
        client.off('exists', check);
        resolve();
      }
    };
    client.on('exists', check);
    check();
  });
}

function waitSeen(client: ImapFlow): Promise<void> {
  return new Promise((resolve) => {
    const on = (ev: { flags: Set<string> }) => {
      if (ev.flags.has('\\Seen')) {
        client.off('flags', on);
        resolve();
      }
    };
    client.on('flags', on);
  });
}

export function formatStory(story: TwoDeviceStory): string {
  const ids = (ms: DeviceMessage[]) => (ms.length ? ms.map((m) => `${m.id}${m.seen ? '✓' : ''}`).join(' ') : '—');
  const part = (title: string, steps: StoryStep[]) => [
    title,
    ...steps.map((s) => `  ${s.action.padEnd(26)} laptop: ${ids(s.laptop).padEnd(12)} phone: ${ids(s.phone).padEnd(12)} ${s.note}`),
  ];
  return ['Two devices, one account (✓ = shown as read):', ...part('POP3, download and delete:', story.pop3), ...part('IMAP:', story.imap)].join('\n');
}
