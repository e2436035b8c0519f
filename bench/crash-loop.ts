/**
 * The crash loop: the built server runs under load — LMTP deliveries, IMAP
 * APPENDs, flag changes and IDLE sessions — and is SIGKILLed at a random
 * moment, then restarted on the same data directory, `--kills` times
 * (default 200). At the end every acknowledged message (LMTP 250, APPEND OK)
 * must be in INBOX exactly once with its size, and INBOX must have kept its
 * UIDVALIDITY through every restart. Prints the figure for docs/reliability.md
 * and exits 1 when anything was lost or duplicated.
 *
 *   npm run bench:crash                 # 200 kills (about 16 minutes on 2 busy cores)
 *   npm run bench:crash -- --kills 20   # shorter
 *   npm run bench:crash -- --seed 7     # another sequence of kill times
 *
 * Every request loop is bounded (per life and in total) and stops at the
 * first failure, which the kill causes; the loop ends by itself.
 */
import { ImapFlow } from 'imapflow';
import { parseArgs } from 'node:util';
import { prng } from '../src/tools/speedtest/demo-mailbox.js';
import { makeDataDir, startServer, type TestServer } from '../test/helpers/server.js';
import { LmtpClient } from './lib/lmtp-client.js';

const { values } = parseArgs({
  options: { kills: { type: 'string', default: '200' }, seed: { type: 'string', default: '1' } },
});
const KILLS = Math.max(1, Math.min(10_000, Number(values.kills) || 200));
/** A life lasts between these (after the server listens) before the SIGKILL. */
const LIFE_MS = { min: 200, max: 3000 };
/** Upper bound of requests per worker per life: the loops stop by themselves even if no kill came. */
const MAX_REQUESTS_PER_LIFE = 500;
const SENDER = 'bench@example.org';

// Seeded, so a run's kill times can be repeated.
const random = prng(Number(values.seed) || 1);

interface Ledger {
  /** Subject -> size the store must hold, for every acknowledged message. */
  acknowledged: Map<string, number>;
  /** Sent but never acknowledged (the server died first), with the size it would have: there once and whole, or not at all. */
  unacknowledged: Map<string, number>;
  flagChanges: number;
  idleExists: number;
  clientErrors: number;
}

const ledger: Ledger = { acknowledged: new Map(), unacknowledged: new Map(), flagChanges: 0, idleExists: 0, clientErrors: 0 };
let sequence = 0;

function message(subject: string): Buffer {
  const body = `This is ${subject}.\r\n`.repeat(1 + Math.floor(random() * 40));
  return Buffer.from(`From: ${SENDER}\r\nTo: crash@loop.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\s/g, '.')}@loop.test>\r\n\r\n${body}`);
}

function imapClient(server: TestServer, user: string, password: string): ImapFlow {
  const client = new ImapFlow({
    host: '127.0.0.1',
    port: server.ports.imap,
    secure: false,
    doSTARTTLS: false,
    auth: { user, pass: password },
    logger: false,
    disableAutoIdle: true,
  });
  client.on('error', () => (ledger.clientErrors += 1)); // the kill: the connection drops
  return client;
}

async function lmtpWorker(server: TestServer, to: string): Promise<void> {
  let client: LmtpClient;
  try {
    client = await LmtpClient.open({ port: server.ports.lmtp });
  } catch {
    return;
  }
  for (let i = 0; i < MAX_REQUESTS_PER_LIFE; i++) {
    const subject = `lmtp ${++sequence}`;
    const data = message(subject);
    const storedSize = data.length + `Return-Path: <${SENDER}>\r\n`.length;
    ledger.unacknowledged.set(subject, storedSize);
    try {
      await client.send(SENDER, to, data);
    } catch {
      return;
    }
    ledger.unacknowledged.delete(subject);
    // LMTP adds Return-Path at final delivery (RFC 5321 §4.4).
    ledger.acknowledged.set(subject, storedSize);
  }
  await client.close();
}

async function appendWorker(server: TestServer, user: string, password: string): Promise<void> {
  const client = imapClient(server, user, password);
  try {
    await client.connect();
    for (let i = 0; i < MAX_REQUESTS_PER_LIFE; i++) {
      const subject = `append ${++sequence}`;
      const data = message(subject);
      ledger.unacknowledged.set(subject, data.length);
      const result = await client.append('INBOX', data, random() < 0.5 ? ['\\Seen'] : []);
      if (!result) return;
      ledger.unacknowledged.delete(subject);
      ledger.acknowledged.set(subject, data.length);
    }
    await client.logout();
  } catch {
    // the kill
  } finally {
    client.close();
  }
}

async function flagWorker(server: TestServer, user: string, password: string): Promise<void> {
  const client = imapClient(server, user, password);
  try {
    await client.connect();
    const mailbox = await client.mailboxOpen('INBOX');
    for (let i = 0; i < MAX_REQUESTS_PER_LIFE && mailbox.exists > 0; i++) {
      const seq = String(1 + Math.floor(random() * (client.mailbox as { exists: number }).exists));
      if (random() < 0.5) await client.messageFlagsAdd(seq, ['\\Flagged', '$Crash']);
      else await client.messageFlagsRemove(seq, ['\\Flagged', '$Crash']);
      ledger.flagChanges += 1;
    }
    await client.logout();
  } catch {
    // the kill
  } finally {
    client.close();
  }
}

/** An IDLE session (RFC 2177) counting the EXISTS pushed to it until the connection drops. */
async function idleWorker(server: TestServer, user: string, password: string, uidValidity: { value: bigint | null }): Promise<void> {
  const client = imapClient(server, user, password);
  try {
    await client.connect();
    const mailbox = await client.mailboxOpen('INBOX');
    if (mailbox.uidValidity !== uidValidity.value) {
      throw new Fatal(`UIDVALIDITY of INBOX changed from ${uidValidity.value} to ${mailbox.uidValidity}`);
    }
    client.on('exists', () => (ledger.idleExists += 1));
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    void client.idle().catch(() => {});
    await closed;
  } catch (err) {
    if (err instanceof Fatal) throw err;
  } finally {
    client.close();
  }
}

class Fatal extends Error {}

async function main(): Promise<void> {
  const started = performance.now();
  const dataDir = makeDataDir();
  const config = { tls: { allowCleartextAuthFromLoopback: true } };
  let server = await startServer({ dataDir, config });
  const { address: user, password } = server.initialAccount;
  const uidValidity: { value: bigint | null } = { value: null };
  {
    const first = imapClient(server, user, password);
    await first.connect();
    uidValidity.value = (await first.mailboxOpen('INBOX')).uidValidity;
    await first.logout();
  }
  let unhandled = 0;
  process.on('unhandledRejection', () => (unhandled += 1)); // a client library's late rejection after a kill

  for (let kill = 1; kill <= KILLS; kill++) {
    if (kill > 1) server = await startServer({ dataDir, config });
    const workers = [
      lmtpWorker(server, user),
      lmtpWorker(server, user),
      appendWorker(server, user, password),
      flagWorker(server, user, password),
      idleWorker(server, user, password, uidValidity),
      idleWorker(server, user, password, uidValidity),
    ];
    const lifeMs = LIFE_MS.min + Math.floor(random() * (LIFE_MS.max - LIFE_MS.min));
    await new Promise((resolve) => setTimeout(resolve, lifeMs));
    await server.kill();
    const results = await Promise.allSettled(workers);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
    if (kill % 10 === 0 || kill === KILLS) {
      process.stderr.write(`kill ${kill}/${KILLS}: ${ledger.acknowledged.size} acknowledged, ${ledger.unacknowledged.size} unacknowledged\n`);
    }
  }

  // The last life, not killed: count what INBOX holds.
  server = await startServer({ dataDir, config });
  const client = imapClient(server, user, password);
  await client.connect();
  const mailbox = await client.mailboxOpen('INBOX');
  const found = new Map<string, number[]>();
  if (mailbox.exists > 0) {
    for await (const m of client.fetch('1:*', { envelope: true, size: true })) {
      const subject = m.envelope?.subject ?? '';
      found.set(subject, [...(found.get(subject) ?? []), m.size ?? -1]);
    }
  }
  await client.logout();
  await server.stop();
  server.cleanup();

  let lost = 0;
  let duplicated = 0;
  let wrongSize = 0;
  for (const [subject, size] of ledger.acknowledged) {
    const copies = found.get(subject) ?? [];
    if (copies.length === 0) lost++;
    if (copies.length > 1) duplicated++;
    if (copies.some((s) => s !== size)) wrongSize++;
  }
  let unacknowledgedStored = 0;
  for (const [subject, size] of ledger.unacknowledged) {
    const copies = found.get(subject) ?? [];
    if (copies.length > 1) duplicated++;
    if (copies.some((s) => s !== size)) wrongSize++;
    unacknowledgedStored += copies.length;
  }
  const strangers = [...found.keys()].filter((s) => !ledger.acknowledged.has(s) && !ledger.unacknowledged.has(s)).length;
  const uidValidityKept = mailbox.uidValidity === uidValidity.value;
  const seconds = (performance.now() - started) / 1000;

  const figure = {
    kills: KILLS,
    acknowledged: ledger.acknowledged.size,
    lost,
    duplicated,
    wrongSize,
    unknownMessages: strangers,
    unacknowledgedSent: ledger.unacknowledged.size,
    unacknowledgedStored,
    flagChanges: ledger.flagChanges,
    idleExistsSeen: ledger.idleExists,
    uidValidityKept,
    seconds: Math.round(seconds),
  };
  console.log(
    `crash loop: ${KILLS} kills, ${figure.acknowledged} acknowledged messages, ${lost} lost, ${duplicated} duplicated, ` +
      `${wrongSize} with a wrong size, ${strangers} unknown; ${figure.unacknowledgedStored} of ${figure.unacknowledgedSent} ` +
      `unacknowledged stored whole; ${figure.flagChanges} flag changes; ${figure.idleExistsSeen} EXISTS seen in IDLE; ` +
      `UIDVALIDITY ${uidValidityKept ? 'kept' : 'CHANGED'}; ${figure.seconds} s (late client rejections: ${unhandled})`,
  );
  console.log(JSON.stringify(figure));
  if (lost || duplicated || wrongSize || strangers || !uidValidityKept) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
