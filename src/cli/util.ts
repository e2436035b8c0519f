/** Small helpers shared by the CLI commands. */

/** sysexits(3) codes used by the CLI. */
export const EX = {
  OK: 0,
  USAGE: 64,
  DATAERR: 65,
  NOUSER: 67,
  SOFTWARE: 70,
  CANTCREAT: 73,
  TEMPFAIL: 75,
  NOPERM: 77,
  CONFIG: 78,
} as const;

/** A failure to show as one line, with an exit code. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EX.USAGE,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** "1G", "500M", "100k", "1024", "unlimited" -> bytes (binary units) or null. */
export function parseSize(value: string): number | null {
  if (/^(unlimited|none|0)$/i.test(value)) return null;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(value.trim());
  if (!m) throw new UsageError(`not a size: "${value}" (use e.g. 500M, 2G, 1048576 or unlimited)`);
  const power = { '': 0, k: 1, m: 2, g: 3, t: 4 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.round(Number(m[1]) * 1024 ** power);
}

export function formatSize(bytes: number | null): string {
  if (bytes === null) return 'unlimited';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The first line of stdin, without its line end (for --password-stdin). */
export async function readPasswordFromStdin(): Promise<string> {
  const text = (await readStdin()).toString('utf8');
  const password = text.split(/\r?\n/, 1)[0];
  if (!password) throw new UsageError('no password on standard input');
  return password;
}

/** Where the data directory is when --data-dir is not given. */
export function defaultDataDir(): string {
  return process.env.MAILSTEAD_DATA_DIR ?? './data';
}
