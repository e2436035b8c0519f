/**
 * The `--html` report: one self-contained file (inline CSS and SVG, no script,
 * no network reference) that reads on a phone: a single column that widens
 * into two on a larger screen.
 */
import { buildCharts, COLORS } from './charts.js';
import type { DeviceMessage, SpeedtestReport, StoryStep } from './types.js';
import { projectionTable, tableRows } from './table.js';
import { verdictParts } from './verdict.js';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const CSS = `
:root { --imap: ${COLORS.IMAP}; --pop3: ${COLORS.POP3}; --ink: #111827; --muted: #6b7280; --line: #e5e7eb; --card: #fff; --bg: #f3f4f6; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
header { background: linear-gradient(135deg, #1e3a8a, #2563eb 60%, #ea580c); color: #fff; padding: 20px 16px 18px; }
header h1 { margin: 0 0 4px; font-size: 1.35rem; }
header p { margin: 0; opacity: .9; font-size: .85rem; overflow-wrap: anywhere; }
main { max-width: 1080px; margin: 0 auto; padding: 12px; display: grid; gap: 12px; grid-template-columns: 1fr; }
section { background: var(--card); border-radius: 12px; padding: 14px; box-shadow: 0 1px 2px rgba(0,0,0,.06); min-width: 0; }
h2 { margin: 0 0 8px; font-size: 1.05rem; }
.verdict { font-size: .95rem; border-left: 4px solid var(--imap); }
.verdict ul { margin: 0; padding-left: 1.1em; } .verdict li { margin: 0 0 6px; }
.warn { background: #fef3c7; border-left: 4px solid #d97706; }
.caption { color: var(--muted); font-size: .8rem; margin: 6px 0 0; }
svg { max-width: 100%; height: auto; display: block; }
table { width: 100%; border-collapse: collapse; font-size: .8rem; table-layout: fixed; }
th:first-child { width: 34%; }
th, td { text-align: left; padding: 6px 4px; border-bottom: 1px solid var(--line); vertical-align: top; }
th.imap { color: var(--imap); } th.pop3 { color: var(--pop3); }
td { overflow-wrap: anywhere; }
td:first-child { color: var(--muted); }
.scroll { overflow-x: auto; }
table.projected { table-layout: auto; min-width: 100%; }
table.projected th:first-child { width: auto; }
.story { display: grid; gap: 12px; grid-template-columns: 1fr; }
.step { border-bottom: 1px solid var(--line); padding: 8px 0; }
.step b { display: block; font-size: .9rem; }
.devices { display: grid; grid-template-columns: 4.2em 1fr; gap: 2px 6px; align-items: center; margin: 4px 0; font-size: .8rem; color: var(--muted); }
.chip { display: inline-block; min-width: 1.7em; padding: 1px 6px; margin: 1px 2px 1px 0; border-radius: 999px; border: 1.5px solid currentColor; text-align: center; font-weight: 600; font-size: .75rem; }
.imap .chip { color: var(--imap); } .pop3 .chip { color: var(--pop3); }
.chip.seen { background: currentColor; } .chip.seen span { color: #fff; }
.none { color: #9ca3af; }
.note { font-size: .8rem; color: var(--muted); margin: 2px 0 0; }
footer { text-align: center; color: var(--muted); font-size: .75rem; padding: 8px 12px 20px; }
@media (min-width: 760px) { main { grid-template-columns: 1fr 1fr; } .wide { grid-column: 1 / -1; } .story { grid-template-columns: 1fr 1fr; } }
`;

function chips(messages: DeviceMessage[]): string {
  if (messages.length === 0) return '<span class="none">nothing</span>';
  return messages.map((m) => `<span class="chip${m.seen ? ' seen' : ''}" title="${esc(m.subject)}${m.seen ? ' (read)' : ''}"><span>${m.id}</span></span>`).join('');
}

function timeline(kind: 'imap' | 'pop3', title: string, steps: StoryStep[]): string {
  return `<div class="${kind}"><h3>${esc(title)}</h3>${steps
    .map(
      (s, i) => `<div class="step"><b>${i + 1}. ${esc(s.action)}</b>
<div class="devices"><span>Laptop</span><span>${chips(s.laptop)}</span><span>Phone</span><span>${chips(s.phone)}</span></div>
<p class="note">${esc(s.note)}</p></div>`,
    )
    .join('\n')}</div>`;
}

export async function renderHtml(report: SpeedtestReport): Promise<string> {
  const charts = await buildCharts(report);
  const target = [report.imap?.url, report.pop3?.url].filter(Boolean).join(' · ');
  const rows = tableRows(report);
  const parts: string[] = [];
  // The same sentences as report.verdict, one per line: measured here, each link, the optional rows, push, coherence.
  parts.push(`<section class="wide verdict"><h2>Verdict</h2><ul>${verdictParts(report).map((v) => `<li>${esc(v)}</li>`).join('')}</ul></section>`);
  if (report.warnings.length > 0) parts.push(`<section class="wide warn">${report.warnings.map((w) => `<p>⚠ ${esc(w)}</p>`).join('')}</section>`);
  for (const c of charts) parts.push(`<section><h2>${esc(c.title)}</h2>${c.svg}<p class="caption">${esc(c.caption)}</p></section>`);
  parts.push(
    `<section class="wide"><h2>Side by side</h2><table><thead><tr><th></th><th class="imap">IMAP</th><th class="pop3">POP3</th></tr></thead><tbody>${rows
      .map((r) => `<tr><td>${esc(r.label)}</td><td>${esc(r.imap)}</td><td>${esc(r.pop3)}</td></tr>`)
      .join('')}</tbody></table><p class="caption">Median over ${report.runs} run(s), fastest–slowest in brackets. “client”: this machine’s CPU time during the phase (share of the wall time), the round trips and the octets read; “limited by this machine” when the client was busy for 80 % of the phase or more.</p></section>`,
  );
  const projected = projectionTable(report);
  parts.push(
    `<section class="wide"><h2>Projected for your link</h2><div class="scroll"><table class="projected"><thead><tr>${projected.head.map((h, i) => `<th${i === 0 ? '' : ` class="${h.startsWith('IMAP') ? 'imap' : 'pop3'}"`}>${esc(h)}</th>`).join('')}</tr></thead><tbody>${projected.rows
      .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
      .join('')}</tbody></table></div><p class="caption">Each phase’s median with its round trips at the link’s round-trip time instead of the one measured here; the transfer keeps the measured bandwidth.</p></section>`,
  );
  if (report.story) {
    parts.push(
      `<section class="wide"><h2>Two devices, one account</h2><p class="caption">A laptop and a phone on the same account. Each circle is a message the device holds; a filled circle shows as read.</p><div class="story">${timeline('pop3', 'POP3, download and delete', report.story.pop3)}${timeline('imap', 'IMAP', report.story.imap)}</div></section>`,
    );
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Mailstead speed test: IMAP vs POP3</title><style>${CSS}</style></head>
<body><header><h1>IMAP vs POP3 speed test</h1><p>${esc(target)}${report.demo ? ' · demo server (a child process on loopback)' : ''} · ${esc(report.startedAt.replace('T', ' ').slice(0, 19))} UTC · ${report.readOnly ? 'read-only' : 'with --allow-write (temporary folder)'}${report.insecure ? ' · certificate NOT verified (--insecure)' : ''}</p></header>
<main>
${parts.join('\n')}
</main>
<footer>mailstead speedtest · report format version ${report.version}</footer>
</body></html>
`;
}
