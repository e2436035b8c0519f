/**
 * TRANSACTION-state commands (RFC 1939 §5, §7): STAT, LIST, UIDL, RETR, TOP,
 * DELE, RSET. Each returns whether it succeeded (the session counts failures).
 *
 * Nothing here changes mail: RETR only notes that the message went out whole
 * (for $POP3Downloaded) and DELE only marks; the UPDATE state at QUIT applies
 * both through the account's POP3 policy (domain/pop3-policy.ts).
 */
import {
  DotStuffer,
  dotStuff,
  dotStuffCrlf,
  encodePop3Response,
  err,
  ok,
  TopCutter,
  type Pop3Command,
  type Pop3Response,
} from '../protocol/pop3/index.js';
import type { Maildrop, MaildropMessage } from './maildrop.js';

export interface Pop3Output {
  reply(response: Pop3Response): Promise<void>;
  /** Raw bytes (a dot-stuffed body); resolves when the connection took them (backpressure). */
  write(bytes: Buffer): Promise<void>;
  /** True once the session ended: stop writing. */
  readonly ended: boolean;
}

type TransactionCommand = Extract<Pop3Command, { name: 'STAT' | 'LIST' | 'UIDL' | 'RETR' | 'TOP' | 'DELE' | 'RSET' }>;

export async function runTransactionCommand(command: TransactionCommand, maildrop: Maildrop, out: Pop3Output): Promise<boolean> {
  switch (command.name) {
    case 'STAT': {
      const { count, octets } = await maildrop.stat();
      await out.reply(ok(`${count} ${octets}`));
      return true;
    }
    case 'LIST':
      return listing(command.args.msg, maildrop, out, async (m) => String(await maildrop.sizeOf(m)), 'scan listing follows');
    case 'UIDL':
      return listing(command.args.msg, maildrop, out, async (m) => m.uidl, 'unique-id listing follows');
    case 'RETR':
      return retrieve(command.args.msg, null, maildrop, out);
    case 'TOP':
      return retrieve(command.args.msg, command.args.lines, maildrop, out);
    case 'DELE': {
      const found = maildrop.lookup(command.args.msg);
      if ('error' in found) {
        await out.reply(err(found.deleted ? `Message ${command.args.msg} already deleted` : found.error));
        return false;
      }
      found.message.deleted = true;
      await out.reply(ok(`Message ${command.args.msg} deleted`));
      return true;
    }
    case 'RSET': {
      maildrop.reset();
      const { count, octets } = await maildrop.stat();
      await out.reply(ok(`Maildrop has ${count} messages (${octets} octets)`));
      return true;
    }
  }
}

/** LIST and UIDL share one shape: "n value" for one message, or a multi-line list of all live ones. */
async function listing(
  msg: number | undefined,
  maildrop: Maildrop,
  out: Pop3Output,
  value: (m: MaildropMessage) => Promise<string>,
  title: string,
): Promise<boolean> {
  if (msg !== undefined) {
    const found = maildrop.lookup(msg);
    if ('error' in found) {
      await out.reply(err(found.error));
      return false;
    }
    await out.reply(ok(`${msg} ${await value(found.message)}`));
    return true;
  }
  const lines: string[] = [];
  for (const { msg: n, message } of maildrop.live()) lines.push(`${n} ${await value(message)}`);
  await out.reply(ok(title, lines));
  return true;
}

/**
 * Messages up to this size are read whole and go out as one write (status
 * line, stuffed body and terminator together: a few TLS records, one await);
 * larger ones are streamed.
 */
const WHOLE_READ_MAX_OCTETS = 256 * 1024;

/**
 * RETR (topLines null) or TOP: status line, then the body through the
 * dot-stuffer (and for TOP the cutter), then ".". A small message is read
 * whole and written at once; a larger one is streamed from the store, each
 * write awaiting the socket, and TOP stops the read after n body lines.
 */
async function retrieve(msg: number, topLines: number | null, maildrop: Maildrop, out: Pop3Output): Promise<boolean> {
  const found = maildrop.lookup(msg);
  if ('error' in found) {
    await out.reply(err(found.error));
    return false;
  }
  const message = found.message;
  const status = ok(topLines === null ? `${await maildrop.sizeOf(message)} octets` : 'top of message follows');
  if (message.size <= WHOLE_READ_MAX_OCTETS) {
    const read = maildrop.read(message);
    // Clients fetch in order: the next message's bytes are read while this one goes out.
    const next = maildrop.nextLive(msg);
    if (next && next.size <= WHOLE_READ_MAX_OCTETS) maildrop.readAhead(next);
    const raw = await read;
    if (raw === null) return removed(msg, out);
    let body: Buffer;
    if (topLines !== null) body = dotStuff(new TopCutter(topLines).push(raw));
    // Stored in wire form (CRLF only, ending in one): only leading dots need work.
    else if (raw.length === message.wireSize) body = dotStuffCrlf(raw);
    else body = dotStuff(raw);
    await out.write(Buffer.concat([Buffer.from(encodePop3Response(status), 'utf8'), body]));
  } else {
    const stream = await maildrop.open(message);
    if (stream === null) return removed(msg, out);
    try {
      await out.reply(status);
      const stuffer = new DotStuffer();
      const cutter = topLines === null ? null : new TopCutter(topLines);
      for await (const chunk of stream) {
        if (out.ended) return true;
        const encoded = stuffer.push(cutter ? cutter.push(chunk as Buffer) : (chunk as Buffer));
        if (encoded.length > 0) await out.write(encoded);
        if (cutter?.done) break;
      }
      if (out.ended) return true;
      await out.write(stuffer.end());
    } finally {
      stream.destroy();
    }
  }
  // Only a RETR that went out to the end counts as a download; TOP never does.
  if (topLines === null && !out.ended) message.retrieved = true;
  return true;
}

async function removed(msg: number, out: Pop3Output): Promise<boolean> {
  await out.reply(err(`Message ${msg} was removed by another session`));
  return false;
}
