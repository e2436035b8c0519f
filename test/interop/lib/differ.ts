/**
 * Sends one command to Mailstead and to Dovecot, compares the canonical
 * answers, and decides with the KNOWN list whether a difference is accepted,
 * a known Mailstead bug (todo), or a failure. Every difference goes into a
 * side-by-side report written when the suite ends.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { canonicalResponses } from './imap-canonical.js';
import type { WireClient } from './imap-wire.js';
import { KNOWN } from './known-differences.js';

export class Differ {
  private readonly report: string[] = [];

  constructor(
    private readonly reportName: string,
    public msc: WireClient,
    public dvc: WireClient,
  ) {}

  async compare(t: TestContext, command: string): Promise<void> {
    const [mine, theirs] = [await this.msc.command(command), await this.dvc.command(command)];
    const [a, b] = [canonicalResponses(mine), canonicalResponses(theirs)];
    if (JSON.stringify(a) === JSON.stringify(b)) return;
    const known = KNOWN.find((k) => k.command.test(command) && (!k.when || k.when(a, b)));
    this.report.push(`### ${command}${known ? `  [${known.kind}: ${known.id}]` : '  [UNLISTED]'}`, '--- mailstead', ...a, '--- dovecot', ...b, '');
    if (known?.kind === 'bug') {
      t.todo(`Mailstead bug ${known.id}: ${known.reason}`);
      return;
    }
    if (known) {
      t.diagnostic(`accepted difference ${known.id}: ${known.reason}`);
      return;
    }
    assert.deepEqual(a, b, `unlisted difference for ${command}`);
  }

  /** Writes $TMPDIR/<reportName>.txt and returns its path and the number of differences. */
  write(): string {
    const file = join(tmpdir(), `${this.reportName}.txt`);
    writeFileSync(file, this.report.join('\n'));
    return `${file} (${this.report.filter((l) => l.startsWith('### ')).length} differences)`;
  }
}
