/**
 * `mailstead speedtest`: IMAP against POP3 on one account, measured and
 * drawn (docs/speedtest.md). Thin: flags, password, exit codes; the work is
 * in tools/speedtest/.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { TOOL_EXIT_CODES, oneLine, ToolError } from '../tools/errors.js';
import type { Demo } from '../tools/speedtest/demo.js';
import type { Target } from '../tools/speedtest/target.js';
import { readCaFile, readRemotePassword } from './remote.js';
import { UsageError } from './util.js';

interface SpeedtestFlags {
  imap?: string;
  pop3?: string;
  passwordStdin?: boolean;
  insecure?: boolean;
  ca?: string;
  allowPlaintext?: boolean;
  allowWrite?: boolean;
  runs: string;
  messages?: string;
  pollInterval: string;
  json?: string;
  html?: string;
  demo?: boolean;
  demoMessages: string;
  rtt: string[];
  quiet?: boolean;
}

export function registerSpeedtestCommand(program: Command): void {
  program
    .command('speedtest')
    .description('Measure IMAP against POP3 on one account (or a demo server of its own) and report the difference.')
    .option('--imap <url>', 'IMAP account: imaps://USER@HOST[:PORT] (imap:// needs --allow-plaintext)')
    .option('--pop3 <url>', 'POP3 account: pop3s://USER@HOST[:PORT] (pop3:// needs --allow-plaintext)')
    .option('--password-stdin', 'read the password from the first line of standard input')
    .option('--insecure', 'accept a certificate that does not verify (self-signed); the report says so')
    .option('--ca <file>', 'also trust this PEM certificate (e.g. a self-signed server certificate)')
    .option('--allow-plaintext', 'allow imap:// and pop3:// (STARTTLS/STLS is still used when offered)')
    .option('--allow-write', 'also measure push and coherence in a temporary folder (created, then removed)')
    .option('--runs <n>', 'rounds to take the median over', '3')
    .option('--messages <n>', 'download at most N messages (default: all)')
    .option('--poll-interval <time>', 'the POP3 polling interval push is compared with: seconds, or e.g. 5m', '5m')
    .option('--json <file>', 'write the report as JSON (schema in docs/speedtest.md)')
    .option('--html <file>', 'write a self-contained HTML report with charts')
    .option('--demo', 'start a Mailstead of its own (a child process on loopback) with a generated mailbox and test that')
    .option('--demo-messages <n>', 'messages in the demo mailbox', '2000')
    .option('--rtt <ms>', 'also project every phase onto a link with this round-trip time in ms (repeatable; Wi-Fi 20 ms and mobile 80 ms are always shown)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--quiet', 'no progress output')
    .addHelpText(
      'after',
      `\nThe password comes from --password-stdin, the MAILSTEAD_PASSWORD environment variable, or a hidden prompt.\nRead-only unless --allow-write. Exit codes: 0 done, ${TOOL_EXIT_CODES.usage} usage, ${TOOL_EXIT_CODES.unreachable} host unreachable, ${TOOL_EXIT_CODES.tls} TLS refused or bad certificate,\n${TOOL_EXIT_CODES.auth} authentication failed, ${TOOL_EXIT_CODES.capability} capability missing, ${TOOL_EXIT_CODES.protocol} other server error.`,
    )
    .action(async (flags: SpeedtestFlags) => {
      // imapflow and sockets report some failures as events; none may end in a stack trace.
      process.on('uncaughtException', (err) => fail(err));
      process.on('unhandledRejection', (err) => fail(err));
      try {
        await speedtest(flags);
      } catch (err) {
        if (err instanceof ToolError) throw new UsageError(err.message, err.exitCode);
        throw err;
      }
    });
}

function fail(err: unknown): never {
  const e = err instanceof ToolError ? err : new ToolError(oneLine((err as Error)?.message ?? String(err)), 'protocol');
  process.stderr.write(`mailstead: ${e.message}\n`);
  process.exit(e.exitCode);
}

function count(value: string, flag: string, min: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min) throw new ToolError(`${flag} wants a whole number >= ${min}, not "${value}"`, 'usage');
  return Number(value);
}

function seconds(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|min|h)?$/i.exec(value.trim());
  if (!m) throw new ToolError(`--poll-interval wants seconds or e.g. 5m, not "${value}"`, 'usage');
  const unit = (m[2] ?? 's').toLowerCase();
  return Number(m[1]) * (unit === 'h' ? 3600 : unit.startsWith('m') ? 60 : 1);
}

async function speedtest(flags: SpeedtestFlags): Promise<void> {
  // Loaded here, not at the top: the charting libraries cost every other mailstead command ~30 MiB and a second of start-up.
  const [{ startDemo }, { renderHtml }, { createProgress }, { runSpeedtest }, { formatStory, playStory }, { parseTarget }, { formatTable }, projection] =
    await Promise.all([
      import('../tools/speedtest/demo.js'),
      import('../tools/speedtest/html.js'),
      import('../tools/speedtest/progress.js'),
      import('../tools/speedtest/run.js'),
      import('../tools/speedtest/story.js'),
      import('../tools/speedtest/target.js'),
      import('../tools/speedtest/table.js'),
      import('../tools/speedtest/projection.js'),
    ]);
  const runs = count(flags.runs, '--runs', 1);
  if (flags.rtt.length > projection.MAX_CUSTOM_LINKS) throw new ToolError(`--rtt may be given at most ${projection.MAX_CUSTOM_LINKS} times`, 'usage');
  const links = projection.linksWith(
    flags.rtt.map((v) => {
      const rtt = projection.parseRtt(v);
      if (rtt === null) throw new ToolError(`--rtt wants a round-trip time in milliseconds, more than 0 and at most ${projection.MAX_RTT_MS}, not "${v}"`, 'usage');
      return rtt;
    }),
  );
  const maxMessages = flags.messages !== undefined ? count(flags.messages, '--messages', 1) : null;
  const pollIntervalSeconds = seconds(flags.pollInterval);
  const quiet = Boolean(flags.quiet);
  let imap: Target | null = null;
  let pop3: Target | null = null;
  let password = '';
  let ca = flags.ca ? [readCaFile(flags.ca)] : undefined;
  let servername: string | undefined;
  let demo: Demo | null = null;

  if (flags.demo) {
    if (flags.imap || flags.pop3) throw new ToolError('--demo tests a server of its own; leave out --imap and --pop3', 'usage');
    const demoMessages = count(flags.demoMessages, '--demo-messages', 1);
    if (!quiet) process.stderr.write(`starting a demo Mailstead (a child process) with ${demoMessages} generated messages...\n`);
    demo = await startDemo(demoMessages, (done, total) => {
      if (!quiet && (done === total || process.stderr.isTTY)) process.stderr.write(`${process.stderr.isTTY ? '\r' : ''}generated ${done}/${total} messages${process.stderr.isTTY && done < total ? '' : '\n'}`);
    });
    imap = demo.imap;
    pop3 = demo.pop3;
    password = demo.password;
    ca = [demo.certPem];
    servername = 'localhost';
  } else {
    if (!flags.imap && !flags.pop3) throw new ToolError('give --imap URL and/or --pop3 URL, or --demo', 'usage');
    imap = flags.imap ? parseTarget(flags.imap, 'imap') : null;
    pop3 = flags.pop3 ? parseTarget(flags.pop3, 'pop3') : null;
    for (const t of [imap, pop3]) {
      if (t && !t.implicitTls && !flags.allowPlaintext) {
        throw new ToolError(`${t.url} is a plaintext port; use ${t.protocol}s:// or add --allow-plaintext`, 'usage');
      }
    }
    password = await readRemotePassword(Boolean(flags.passwordStdin), 'the test account');
  }

  try {
    const report = await runSpeedtest({
      imap,
      pop3,
      password,
      insecure: Boolean(flags.insecure),
      ca,
      servername,
      runs,
      maxMessages,
      allowWrite: Boolean(flags.allowWrite) || Boolean(demo),
      pollIntervalSeconds,
      links,
      demo: Boolean(demo),
      addOneMessage: demo ? () => demo.addOneMessage() : undefined,
      removeAddedMessages: demo ? () => demo.removeAddedMessages() : undefined,
      progress: createProgress(runs, process.stderr, quiet),
    });
    if (demo) {
      if (!quiet) process.stderr.write('playing the two-device story...\n');
      report.story = await playStory(demo);
    }
    const out: string[] = [formatTable(report), '', report.verdict, ...report.warnings.map((w) => `warning: ${w}`)];
    if (report.story) out.push('', formatStory(report.story));
    process.stdout.write(`${out.join('\n')}\n`);
    if (flags.json) writeFileSync(flags.json, `${JSON.stringify(report, null, 2)}\n`);
    if (flags.html) writeFileSync(flags.html, await renderHtml(report));
  } finally {
    await demo?.stop();
  }
}
