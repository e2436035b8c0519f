/**
 * Mailstead and Dovecot side by side with the same content: the MIME corpus
 * and three search messages in INBOX (flags set alike), one message in
 * Work/Reports, the SORT/THREAD corpus in Threads, the same subscriptions.
 * Returns one logged-in connection to each with INBOX selected.
 */
import { type DovecotInstance, startDovecot } from '../../helpers/dovecot.js';
import type { WireClient } from './imap-wire.js';
import { login, ok } from './mailbox-snapshot.js';
import { interopMessage, type MailsteadFixture, startMailstead } from './mailstead.js';
import { threadCorpus } from './thread-corpus.js';
import { corpus, FLAG_SETUP } from './transcripts.js';

export interface ServerPair {
  ms: MailsteadFixture;
  dv: DovecotInstance;
  msc: WireClient;
  dvc: WireClient;
  stop(): Promise<void>;
}

export async function startPair(): Promise<ServerPair> {
  const [ms, dv] = await Promise.all([startMailstead(), startDovecot()]);
  const dvAccount = { port: dv.imapsPort, certPem: dv.certPem, user: dv.user, password: dv.password };
  // Dovecot does not subscribe INBOX or CREATEd mailboxes by itself.
  const setup = ['CREATE Work', 'CREATE "Work/Reports"', 'CREATE Threads', 'SUBSCRIBE INBOX', 'SUBSCRIBE Work', 'SUBSCRIBE "Work/Reports"'];
  await ms.run(...setup);
  const dvSetup = await login(dvAccount);
  for (const cmd of setup) await ok(dvSetup, cmd);
  dvSetup.close();
  for (const { message } of corpus()) {
    ms.deliver(message);
    await dv.deliver(message);
  }
  ms.deliver(interopMessage('r1'), 'Work/Reports');
  await dv.deliver(interopMessage('r1'), 'Work/Reports');
  const msc = await login(ms.imap);
  const dvc = await login(dvAccount);
  // The SORT/THREAD corpus is APPENDed with fixed INTERNALDATEs (two messages share each minute):
  // delivered mail gets each server's own arrival time, and a second boundary falling between
  // two deliveries on one server but not the other made SORT (ARRIVAL) ties differ by chance.
  for (const [i, message] of threadCorpus().entries()) {
    const text = message.toString('utf8');
    const minute = String(Math.floor(i / 2)).padStart(2, '0');
    const append = `APPEND Threads "01-Nov-2026 09:${minute}:00 +0000" {${Buffer.byteLength(text)}}\r\n${text}`;
    for (const c of [msc, dvc]) await ok(c, append);
  }
  for (const c of [msc, dvc]) {
    await ok(c, 'SELECT INBOX');
    for (const cmd of FLAG_SETUP) await ok(c, cmd);
  }
  return {
    ms,
    dv,
    msc,
    dvc,
    async stop() {
      msc.close();
      dvc.close();
      await Promise.all([ms.stop(), dv.stop()]);
    },
  };
}
