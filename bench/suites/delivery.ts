/**
 * Delivery throughput over LMTP: 10 KB messages from 8 concurrent senders,
 * each on its own persistent connection. Mailstead answers 250 only after
 * its SQLite transaction is synced (synchronous=FULL); Dovecot's LMTP
 * fsyncs the Maildir file before answering (mail_fsync=optimized). Dovecot
 * is reached over its Unix socket (the harness has no LMTP TCP listener),
 * Mailstead over loopback TCP.
 */
import { fixedSizeMessage } from '../lib/corpus.js';
import { deliverAll } from '../lib/lmtp-client.js';
import { alternate, type BenchContext, plan, type Row, row } from '../lib/suite.js';

const SIZE = 10 * 1024;
const SENDERS = 8;
const PER_RUN = 240;

export async function deliverySuite(ctx: BenchContext): Promise<Row[]> {
  let n = 0;
  const values = await alternate(ctx, 'LMTP delivery', plan(ctx, 1, 6), async (s) => {
    const messages = Array.from({ length: PER_RUN }, () => fixedSizeMessage(n++, SIZE, s.user2));
    const ms = await deliverAll(s.lmtp, s.user2, messages, SENDERS);
    return PER_RUN / (ms / 1000);
  });
  return [
    row('delivery-lmtp', `LMTP delivery, 10 KB messages, ${SENDERS} senders`, 'msg/s', 'higher', values, {
      detail: { messagesPerRun: PER_RUN, messageBytes: SIZE, senders: SENDERS },
    }),
  ];
}
