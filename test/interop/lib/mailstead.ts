/**
 * A Mailstead server for interop tests: the real built server (test/helpers/server.ts)
 * with one account, plus the few mailbox operations the tests need on the
 * server side (creating mailboxes, delivering into them, changing flags).
 */
import { addUser, deliver, startServer, type TestServer } from '../../helpers/server.js';
import { type ImapAccount, login, ok } from './mailbox-snapshot.js';
import { q } from './imap-wire.js';

export interface MailsteadFixture {
  server: TestServer;
  imap: ImapAccount;
  user: string;
  password: string;
  /** Delivers through `mailstead deliver`; the mailbox must exist (create it first). */
  deliver(message: string | Buffer, mailbox?: string): void;
  /** Opens an authenticated raw IMAP session, runs the commands (each must be OK), closes it. */
  run(...commands: string[]): Promise<string[]>;
  /** Selects `mailbox`, finds the message `<id@interop.test>`, runs each command with `$UID` replaced by its UID. */
  onMessage(mailbox: string, id: string, ...commands: string[]): Promise<void>;
  stop(): Promise<void>;
}

export async function startMailstead(user = 'alice@example.com', password = 'alice-secret-1'): Promise<MailsteadFixture> {
  const server = await startServer();
  addUser(server.dataDir, user, password);
  const imap: ImapAccount = { port: server.ports.imaps, certPem: server.certPem, user, password };
  return {
    server,
    imap,
    user,
    password,
    deliver(message, mailbox) {
      const r = deliver(server.dataDir, user, message, mailbox);
      if (r.status !== 0) throw new Error(`mailstead deliver failed (${r.status}): ${r.stderr}`);
    },
    async run(...commands) {
      const c = await login(imap);
      try {
        const out: string[] = [];
        for (const cmd of commands) out.push(...(await ok(c, cmd)));
        return out;
      } finally {
        c.close();
      }
    },
    async onMessage(mailbox, id, ...commands) {
      const c = await login(imap);
      try {
        await ok(c, `SELECT ${q(mailbox)}`);
        const found = await ok(c, `UID SEARCH HEADER Message-ID ${q(`<${id}@interop.test>`)}`);
        const uid = /^\* SEARCH (\d+)$/m.exec(found.join('\n'))?.[1];
        if (!uid) throw new Error(`message ${id} not found in ${mailbox}: ${found.join('\n')}`);
        for (const cmd of commands) await ok(c, cmd.replaceAll('$UID', uid));
      } finally {
        c.close();
      }
    },
    async stop() {
      await server.stop();
      server.cleanup();
    },
  };
}

/** A small message identified by its Message-ID `<id@interop.test>`. */
export function interopMessage(id: string, extraHeaders = ''): string {
  return [
    'From: Sender <sender@example.org>',
    'To: alice@example.com',
    `Subject: interop ${id}`,
    'Date: Thu, 26 Nov 2026 10:00:00 +0000',
    `Message-ID: <${id}@interop.test>`,
    ...(extraHeaders ? [extraHeaders] : []),
    '',
    `Body of ${id}.`,
    '',
  ].join('\r\n');
}

