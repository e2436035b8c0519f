/** What every client tool (speedtest, archive, import) asks of the user: a password and whom to trust. */
import { readFileSync } from 'node:fs';
import { readPasswordFromStdin, UsageError } from './util.js';

/** The password from --password-stdin, MAILSTEAD_PASSWORD or a hidden prompt on the terminal. */
export async function readRemotePassword(passwordStdin: boolean, what: string): Promise<string> {
  if (passwordStdin) return readPasswordFromStdin();
  const env = process.env.MAILSTEAD_PASSWORD;
  if (env) return env;
  if (!process.stdin.isTTY) throw new UsageError('no password: use --password-stdin, MAILSTEAD_PASSWORD or run on a terminal');
  const typed = await promptHidden(`Password for ${what}: `);
  if (!typed) throw new UsageError('no password given');
  return typed;
}

/** Reads a line from the terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    let typed = '';
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          done();
          resolve(typed);
          return;
        }
        if (ch === '\u0003') {
          done();
          reject(new UsageError('cancelled', 130));
          return;
        }
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    const done = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    stdin.on('data', onData);
  });
}


export function readCaFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read --ca ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
