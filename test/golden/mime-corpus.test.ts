/**
 * The MIME golden corpus (test/fixtures/mime): each message is delivered
 * through the domain (as LMTP does) into a mailbox of its own, then fetched
 * through a real IMAP session: ENVELOPE, BODY and BODYSTRUCTURE exactly as
 * the server writes them, and every part (BODY[n], BODY[n.MIME],
 * BINARY.SIZE[n], HEADER/TEXT of attached messages) as octet counts and a
 * digest. On a mismatch NAME.actual is written beside NAME.expected so a
 * reviewer can diff the two; set MIME_GOLDEN_UPDATE=1 to rewrite them.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { toCrlf } from '../../src/domain/mail-domain.js';
import { ALICE, createHarness, type Client, type Harness } from '../../src/imap/harness.test.js';
import { parseMessage, type MimePart } from '../../src/mail/index.js';

const DIR = new URL('../fixtures/mime/', import.meta.url);
const fixtures = readdirSync(DIR).filter((f) => f.endsWith('.eml')).sort();

/** IMAP part paths of a message (RFC 9051 §6.4.5): multipart children, and inside attached messages. */
function partPaths(part: MimePart, prefix: number[], out: string[]): void {
  if (part.kind === 'multipart') {
    (part.children ?? []).forEach((child, i) => {
      const path = [...prefix, i + 1];
      out.push(path.join('.'));
      descend(child, path, out);
    });
  } else if (prefix.length === 0) {
    out.push('1');
    descend(part, [1], out);
  }
}

function descend(part: MimePart, path: number[], out: string[]): void {
  if (part.kind === 'multipart') partPaths(part, path, out);
  else if (part.kind === 'message' && part.message) {
    out.push(`${path.join('.')}.HEADER`, `${path.join('.')}.TEXT`);
    if (part.message.kind === 'multipart') partPaths(part.message, path, out);
    else out.push(`${path.join('.')}.1`);
  }
}

/** The untagged lines of a reply with the tag line dropped. */
function untagged(reply: string): string {
  return reply.replace(/t\d+ (OK|NO|BAD)[^\r]*\r\n$/, '').replace(/\r\n$/, '');
}

/** "NAME n octets sha256:xxxxxxxx" for each literal in a FETCH response, so a part's bytes are checked without copying them. */
function digestLiterals(line: string): string {
  const bytes = Buffer.from(line, 'latin1');
  let out = '';
  let pos = 0;
  const re = /([A-Z0-9.[\]<> ]+?) \{(\d+)\}\r\n/g;
  const text = bytes.toString('latin1');
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const n = Number(m[2]);
    const start = m.index + m[0].length;
    const body = bytes.subarray(start, start + n);
    out += text.slice(pos, m.index) + `${m[1]} ${n} octets sha256:${createHash('sha256').update(body).digest('hex').slice(0, 16)}`;
    pos = start + n;
    re.lastIndex = pos;
  }
  return out + text.slice(pos);
}

async function transcript(c: Client, raw: Buffer): Promise<string> {
  const lines: string[] = [];
  const record = async (command: string, digest: boolean) => {
    const reply = await c.cmd(command);
    const shown = reply.match(/t\d+ (NO|BAD) [^\r]*/) ? reply.replace(/^t\d+ /, '') : untagged(reply);
    lines.push(`C: ${command}`, `S: ${digest ? digestLiterals(shown) : shown}`.replace(/\r\n$/, ''));
  };
  await record('FETCH 1 (ENVELOPE)', false);
  await record('FETCH 1 (BODY)', false);
  await record('FETCH 1 (BODYSTRUCTURE)', false);
  await record('FETCH 1 (RFC822.SIZE BODY.PEEK[HEADER] BODY.PEEK[TEXT])', true);
  const paths: string[] = [];
  partPaths(parseMessage(raw).root, [], paths);
  for (const path of paths) {
    if (/HEADER|TEXT/.test(path)) {
      await record(`FETCH 1 (BODY.PEEK[${path}])`, true);
      continue;
    }
    await record(`FETCH 1 (BODY.PEEK[${path}] BODY.PEEK[${path}.MIME])`, true);
    await record(`FETCH 1 (BINARY.SIZE[${path}])`, false);
  }
  return lines.join('\n') + '\n';
}

describe('MIME golden corpus through an IMAP session', () => {
  let h: Harness;
  let c: Client;
  before(async () => {
    h = await createHarness();
    c = await h.open({ login: true });
  });
  after(() => h.close());

  for (const name of fixtures) {
    it(name, async () => {
      const raw = toCrlf(readFileSync(new URL(name, DIR)));
      const mailbox = `corpus/${name.replace(/\.eml$/, '')}`;
      await h.domain.createMailbox(1, mailbox);
      await h.domain.deliver(ALICE, raw, mailbox);
      assert.match(await c.cmd(`SELECT "${mailbox}"`), /OK \[READ-WRITE\]/);
      const actual = await transcript(c, raw);
      const base = new URL(name.replace(/\.eml$/, ''), DIR);
      const expectedFile = new URL(`${base.href}.expected`);
      const actualFile = new URL(`${base.href}.actual`);
      if (process.env['MIME_GOLDEN_UPDATE'] === '1') writeFileSync(expectedFile, actual, 'latin1');
      const expected = existsSync(expectedFile) ? readFileSync(expectedFile, 'latin1') : '';
      if (actual !== expected) {
        writeFileSync(actualFile, actual, 'latin1');
        assert.fail(`${name}: output differs from ${name.replace(/\.eml$/, '.expected')}; see the .actual file beside it`);
      }
      rmSync(actualFile, { force: true });
    });
  }
});
