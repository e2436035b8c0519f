/**
 * IDLE push latency: a session idles on `user2`'s INBOX, one message is
 * delivered over LMTP, and the time from sending MAIL FROM to the session
 * seeing `* n EXISTS` is the latency (the LMTP transaction included: that is
 * what a user waits for). Dovecot delays IDLE notifications by about 0.5 s
 * on purpose to coalesce bursts, so its figure sits near 500 ms by design.
 */
import { fixedSizeMessage } from '../lib/corpus.js';
import { BenchImapClient } from '../lib/imap-client.js';
import { LmtpClient } from '../lib/lmtp-client.js';
import type { ServerName } from '../lib/servers.js';
import { alternate, type BenchContext, plan, type Row, row } from '../lib/suite.js';

const TIMEOUT_MS = 10_000;

export async function idleSuite(ctx: BenchContext): Promise<Row[]> {
  const imap = new Map<ServerName, BenchImapClient>();
  const lmtp = new Map<ServerName, LmtpClient>();
  const accepted = new Map<ServerName, number[]>(ctx.servers.map((s) => [s.name, []]));
  let n = 0;
  try {
    for (const s of ctx.servers) {
      const c = await BenchImapClient.login({ port: s.imaps, certPem: s.certPem, user: s.user2, password: s.password2 });
      await c.ok('SELECT INBOX');
      imap.set(s.name, c);
      lmtp.set(s.name, await LmtpClient.open(s.lmtp));
    }
    const values = await alternate(ctx, 'IDLE push', plan(ctx, 1, 10), async (s, run) => {
      const client = imap.get(s.name) as BenchImapClient;
      let pushed: (t: number) => void = () => {};
      const seen = new Promise<number>((resolve) => (pushed = resolve));
      const done = await client.idle((line) => {
        if (/^\* \d+ EXISTS/.test(line)) pushed(performance.now());
      });
      const t0 = performance.now();
      await (lmtp.get(s.name) as LmtpClient).send('bench@example.org', s.user2, fixedSizeMessage(1_000_000 + n++, 2048, s.user2));
      if (run >= 0) accepted.get(s.name)?.push(performance.now() - t0);
      let timer: NodeJS.Timeout | undefined;
      const at = await Promise.race([seen, new Promise<number>((resolve) => (timer = setTimeout(() => resolve(Number.NaN), TIMEOUT_MS)))]);
      clearTimeout(timer);
      await done();
      if (Number.isNaN(at)) throw new Error(`${s.name}: no EXISTS within ${TIMEOUT_MS} ms of delivery`);
      return at - t0;
    });
    const lmtpMs = Object.fromEntries([...accepted].map(([k, v]) => [k, v.sort((a, b) => a - b)[v.length >> 1]]));
    return [
      row('idle-push', 'IDLE push latency (LMTP delivery → * EXISTS)', 'ms', 'lower', values, {
        note: 'Dovecot delays IDLE notifications ~0.5 s on purpose (coalescing); its figure measures that policy, not its speed',
        detail: { medianLmtpAcceptMs: lmtpMs },
      }),
    ];
  } finally {
    for (const c of imap.values()) await c.logout().catch(() => c.close());
    for (const c of lmtp.values()) await c.close();
  }
}
