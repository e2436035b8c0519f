/**
 * LMTP (RFC 2033) delivery from an MTA, on smtp-server in LMTP mode. After
 * DATA each recipient gets its own reply: 250 once its copy is committed and
 * synced, 552 5.2.2 over quota, 451 4.3.0 on any other failure (never with
 * the exception's text: that goes to the log), 550 5.1.1 when
 * the account vanished between RCPT and DATA (unknown accounts are normally
 * refused at RCPT already, so the MTA bounces at once).
 */
import { SMTPServer, type SMTPServerDataStream, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import type { MailDomain } from '../domain/mail-domain.js';
import { crashPoint } from '../observability/fault.js';
import type { Logger } from '../observability/log.js';
import { connectionOpened, deliveryDone } from '../observability/metrics.js';
import { finished } from 'node:stream/promises';
import type { StagedBody } from '../domain/staged-body.js';
import { StoreError } from '../store/types.js';

export interface LmtpOptions {
  domain: MailDomain;
  log: Logger;
  hostname: string;
  maxMessageBytes: number;
  maxClients: number;
}

export interface LmtpServer {
  server: SMTPServer;
  /** Stop accepting, let deliveries in flight finish, then close idle connections. */
  close(): Promise<void>;
}

/** An SMTP reply as smtp-server expects it: an Error carrying the code. */
function reply(code: number | string, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

/**
 * What the MTA is told about a failed delivery: the class of the failure, never its detail
 * (exception text can carry file paths, SQL or another user's data; the log gets it instead).
 * smtp-server adds the RFC 3463 enhanced code from the reply code (451 -> 4.3.0, 552 -> 5.2.2,
 * 550 -> 5.1.1) unless the code is given as a string with its own enhanced code, which it writes as
 * given (test/reliability/disk-full.test.ts checks the exact line). To add a class: a row here and a
 * case in `failureClassOf`.
 */
const FAILURE_REPLIES = {
  overQuota: { code: 552, text: 'Mailbox is over quota' },
  noSuchUser: { code: 550, text: 'No such user here' },
  // RFC 3463 4.3.1 "mail system full": the server's disk, not the recipient's quota; the MTA retries.
  full: { code: '452 4.3.1', text: 'Mail system full; try again later' },
  temporary: { code: 451, text: 'Temporary failure, try again later' },
} as const satisfies Record<string, { code: number | string; text: string }>;

export type LmtpFailureClass = keyof typeof FAILURE_REPLIES;

export function failureClassOf(err: unknown): LmtpFailureClass {
  if (err instanceof StoreError) {
    switch (err.code) {
      case 'STORE_OVER_QUOTA':
        return 'overQuota';
      case 'STORE_NO_SUCH_ACCOUNT':
        return 'noSuchUser';
      case 'STORE_FULL':
        return 'full';
    }
  }
  // Anything else (the store unavailable, a bug, an I/O error) may pass on retry: 4xx, and the MTA keeps the message.
  return 'temporary';
}

/** Maps a delivery failure to the per-recipient LMTP reply (the one mapping for LMTP). */
export function lmtpReplyFor(err: unknown): Error {
  const { code, text } = FAILURE_REPLIES[failureClassOf(err)];
  return reply(code, text);
}

export function createLmtpServer(opts: LmtpOptions): LmtpServer {
  const inFlight = new Set<Promise<unknown>>();
  /** Each open connection's end in the metrics, by smtp-server's session id. */
  const connections = new Map<string, () => void>();

  const server = new SMTPServer(<SMTPServerOptions & { hideENHANCEDSTATUSCODES: boolean }>{
    lmtp: true,
    name: opts.hostname,
    banner: 'Mailstead LMTP ready',
    // LMTP is spoken by the local MTA over loopback or a private network: no AUTH, no TLS.
    disabledCommands: ['AUTH', 'STARTTLS'],
    authOptional: true,
    size: opts.maxMessageBytes,
    maxClients: opts.maxClients,
    logger: false,
    closeTimeout: 1000,
    // RFC 2034: per-recipient replies carry 5.1.1 / 5.2.2 / 4.3.0 so the MTA's bounces say why.
    hideENHANCEDSTATUSCODES: false,
    onConnect(session, callback) {
      connections.set(session.id, connectionOpened('lmtp'));
      callback();
    },
    onClose(session) {
      connections.get(session.id)?.();
      connections.delete(session.id);
    },
    onRcptTo(address, _session, callback) {
      opts.domain
        .findAccount(address.address)
        .then((account) => callback(account ? null : reply(550, `No such user here: ${address.address}`)))
        .catch((err: unknown) => {
          opts.log.warn({ protocol: 'lmtp', rcpt: address.address, err }, 'recipient lookup failed');
          callback(lmtpReplyFor(err));
        });
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const delivery = deliverAll(stream, session).then(
        (replies) => {
          callback(null, replies as unknown as string);
          // smtp-server has written the replies by now (the DATA stream had ended).
          if (replies.some((r) => typeof r === 'string')) crashPoint('lmtp.reply-sent');
        },
        (err: unknown) => {
          // The whole transaction failed (e.g. reading the message): every recipient gets the class, the log the detail.
          opts.log.error({ protocol: 'lmtp', err }, 'delivery failed');
          callback(lmtpReplyFor(err));
        },
      );
      inFlight.add(delivery);
      delivery.finally(() => inFlight.delete(delivery));
    },
  });
  server.on('error', (err) => opts.log.warn({ err: err.message }, 'LMTP connection error'));

  /**
   * One body per transaction, streamed into the blob store as DATA arrives
   * (bare LF made CRLF on the way) and staged once; each recipient's append
   * names it; it is released once at the end, whatever happened. An
   * unacknowledged DATA (a crash before the replies) leaves only an orphan
   * body, which startup recovery removes.
   */
  async function deliverAll(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<Array<string | Error>> {
    const recipients = session.envelope.rcptTo;
    const mailFrom = session.envelope.mailFrom;
    const sender = mailFrom ? mailFrom.address : '';
    // smtp-server only flags an oversized message and keeps streaming it: past the limit nothing more
    // is written (still reading to the end of DATA), and the staged body is dropped.
    let size = 0;
    async function* body(): AsyncGenerator<Buffer> {
      // RFC 5321 §4.4: the final delivery adds Return-Path. It is the same for every recipient,
      // so the stored bytes stay identical and the blob is kept once.
      yield Buffer.from(`Return-Path: <${sender}>\r\n`);
      // Not destroyed when the store stops reading (disk full): the rest of DATA is still read below.
      for await (const chunk of stream.iterator({ destroyOnReturn: false })) {
        size += (chunk as Buffer).length;
        if (size <= opts.maxMessageBytes) yield chunk as Buffer;
      }
    }
    let staged: StagedBody;
    try {
      staged = await opts.domain.stageBody(body(), { crlf: true });
    } catch (err) {
      // smtp-server reads the next command only once DATA was read to its end.
      stream.resume();
      await finished(stream).catch(() => {});
      throw err;
    }
    try {
      if (stream.sizeExceeded || size > opts.maxMessageBytes) {
        // smtp-server answers 552 for every recipient itself when the size is exceeded.
        return recipients.map(() => reply(552, 'Message is larger than the server accepts'));
      }
      const replies: Array<string | Error> = [];
      for (const rcpt of recipients) {
        try {
          const result = await opts.domain.deliverStaged(rcpt.address, staged);
          opts.log.info({ protocol: 'lmtp', rcpt: rcpt.address, uid: result.uid, size: staged.staged.size }, 'delivered');
          replies.push(`Ok: delivered as UID ${result.uid}`);
          deliveryDone('delivered');
        } catch (err) {
          const failureClass = failureClassOf(err);
          // The log gets the detail (message and stack); the MTA only the class of the failure.
          const fields = { protocol: 'lmtp', rcpt: rcpt.address, failure: failureClass, err };
          if (failureClass === 'temporary') opts.log.error(fields, 'delivery failed');
          else opts.log.warn(fields, 'delivery refused');
          replies.push(lmtpReplyFor(err));
          deliveryDone(failureClass === 'temporary' || failureClass === 'full' ? 'failed' : 'rejected');
        }
      }
      return replies;
    } finally {
      await opts.domain.releaseBodies([staged]);
    }
  }

  return {
    server,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...inFlight]);
      await closed;
    },
  };
}
