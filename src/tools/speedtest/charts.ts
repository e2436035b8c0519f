/**
 * Charts as inline SVG, drawn with vega-lite without a browser (renderer
 * 'none' + toSVG), so the HTML report needs no script and no network.
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import { linkLabel } from './table.js';
import type { Figure, ProtocolReport, SpeedtestReport } from './types.js';

export const COLORS = { IMAP: '#2563eb', POP3: '#ea580c' };
const color = { field: 'protocol', type: 'nominal', title: null, scale: { domain: ['IMAP', 'POP3'], range: [COLORS.IMAP, COLORS.POP3] }, legend: { orient: 'top' } } as const;
const WIDTH = 320;
const config = { font: 'system-ui, -apple-system, Segoe UI, Roboto, sans-serif', view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 11, gridColor: '#e5e7eb' }, legend: { labelFontSize: 12 } };

export interface Chart {
  title: string;
  caption: string;
  svg: string;
}

async function render(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile({ ...spec, config } as TopLevelSpec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

interface Row {
  phase: string;
  protocol: string;
  median: number;
  min: number;
  max: number;
}

function rows(report: SpeedtestReport, phases: Array<[string, (p: ProtocolReport) => Figure | null, number]>): Row[] {
  const out: Row[] = [];
  for (const p of [report.imap, report.pop3]) {
    if (!p) continue;
    for (const [phase, pick, scale] of phases) {
      const f = pick(p);
      if (f) out.push({ phase, protocol: p.protocol.toUpperCase(), median: f.median * scale, min: f.min * scale, max: f.max * scale });
    }
  }
  return out;
}

/** Grouped horizontal bars (median) with a min–max whisker per protocol. */
function groupedBars(values: Row[], unit: string, order: string[]): TopLevelSpec {
  const y = { field: 'phase', type: 'nominal', title: null, sort: order } as const;
  const yOffset = { field: 'protocol', sort: ['IMAP', 'POP3'] } as const;
  return {
    width: WIDTH,
    data: { values },
    encoding: { y, yOffset, color },
    layer: [
      { mark: { type: 'bar', cornerRadiusEnd: 3, height: { band: 0.9 } }, encoding: { x: { field: 'median', type: 'quantitative', title: unit } } },
      { mark: { type: 'rule', color: '#111827', opacity: 0.55 }, encoding: { x: { field: 'min', type: 'quantitative' }, x2: { field: 'max' } } },
      {
        mark: { type: 'text', align: 'left', dx: 4, fontSize: 10, color: '#374151' },
        encoding: { x: { field: 'max', type: 'quantitative' }, text: { field: 'median', type: 'quantitative', format: '.3~r' } },
      },
    ],
  } as TopLevelSpec;
}

export async function buildCharts(report: SpeedtestReport): Promise<Chart[]> {
  // First: which protocol is faster on the reader's own link.
  const charts: Chart[] = [await projectionChart(report)];
  const connectOrder = ['DNS', 'TCP', 'TLS', 'Greeting', 'Login'];
  charts.push({
    title: 'Connecting',
    caption: 'Median of each phase in milliseconds; the thin line spans the fastest and the slowest run.',
    svg: await render(
      groupedBars(
        rows(report, [
          ['DNS', (p) => p.connection.dnsMs, 1],
          ['TCP', (p) => p.connection.tcpMs, 1],
          ['TLS', (p) => p.connection.tlsMs, 1],
          ['Greeting', (p) => p.connection.greetingMs, 1],
          ['Login', (p) => p.connection.authMs, 1],
        ]),
        'milliseconds',
        connectOrder,
      ),
    ),
  });
  const taskOrder = ['List messages', 'Open mailbox', 'Check for new mail', 'Download all'];
  charts.push({
    title: 'Everyday tasks',
    caption: 'Seconds per task: listing, opening the mailbox as a phone does (all headers), a returning client checking for new mail, and downloading every message.',
    svg: await render(
      groupedBars(
        rows(report, [
          ['List messages', (p) => p.listing.ms, 0.001],
          ['Open mailbox', (p) => p.headerSync.ms, 0.001],
          ['Check for new mail', (p) => p.resync.ms, 0.001],
          ['Download all', (p) => p.download.seconds, 1],
        ]),
        'seconds',
        taskOrder,
      ),
    ),
  });
  charts.push({
    title: 'Download throughput',
    caption: 'Megabytes and messages per second while downloading every message.',
    svg: await render({
      hconcat: [
        groupedBars(rows(report, [['MB/s', (p) => p.download.megabytesPerSecond, 1]]), 'MB/s', ['MB/s']),
        groupedBars(rows(report, [['msgs/s', (p) => p.download.messagesPerSecond, 1]]), 'messages/s', ['msgs/s']),
      ].map((s) => ({ ...s, width: WIDTH / 2 - 30 })) as never,
    } as TopLevelSpec),
  });
  const samples = [report.imap, report.pop3].flatMap((p) => (p ? p.latencySamplesMs.map((v) => ({ protocol: p.protocol.toUpperCase(), ms: v })) : []));
  charts.push({
    title: 'Command round trips',
    caption: 'Every NOOP round trip of every run: the box holds the middle half, each tick is one sample.',
    svg: await render({
      width: WIDTH,
      data: { values: samples },
      encoding: { y: { field: 'protocol', type: 'nominal', title: null }, color },
      layer: [
        { mark: { type: 'boxplot', extent: 'min-max', size: 22, opacity: 0.35 }, encoding: { x: { field: 'ms', type: 'quantitative', title: 'milliseconds', scale: { zero: true } } } },
        { mark: { type: 'tick', thickness: 1.5, size: 18 }, encoding: { x: { field: 'ms', type: 'quantitative' } } },
      ],
    } as TopLevelSpec),
  });
  const push: Array<{ protocol: string; seconds: number; label: string }> = [];
  if (report.imap?.push.ms) push.push({ protocol: 'IMAP', seconds: report.imap.push.ms.median / 1000, label: 'IDLE push (measured)' });
  if (report.pop3?.push.expectedDelayMs) push.push({ protocol: 'POP3', seconds: report.pop3.push.expectedDelayMs / 1000, label: `poll every ${report.pollIntervalSeconds} s (average wait)` });
  if (push.length > 0) {
    charts.push({
      title: 'New mail shows up after',
      caption: 'Seconds from arrival to the device knowing, on a logarithmic scale: IMAP is told at once; POP3 waits for its next poll.',
      svg: await render({
        width: WIDTH,
        data: { values: push },
        encoding: { y: { field: 'protocol', type: 'nominal', title: null }, color },
        layer: [
          { mark: { type: 'bar', cornerRadiusEnd: 3 }, encoding: { x: { field: 'seconds', type: 'quantitative', scale: { type: 'log' }, title: 'seconds (log scale)' } } },
          { mark: { type: 'text', align: 'left', dx: 4, fontSize: 10 }, encoding: { x: { field: 'seconds', type: 'quantitative' }, text: { field: 'seconds', type: 'quantitative', format: '.3~r' } } },
        ],
      } as TopLevelSpec),
    });
  }
  return charts;
}

/** The phases a user waits for, measured here and projected onto each link (projection.ts). */
const PROJECTED: Array<[string, (p: ProtocolReport) => { ms: Figure; projections: Array<{ ms: number }> } | null]> = [
  ['Open mailbox', (p) => p.headerSync],
  ['TOP pipelined', (p) => p.headerSyncPipelined],
  ['Download all', (p) => p.download],
  ['RETR pipelined', (p) => p.downloadPipelined],
  ['Check new mail', (p) => p.resync],
];

async function projectionChart(report: SpeedtestReport): Promise<Chart> {
  const links = ['measured here', ...report.links.map(linkLabel)];
  const values: Array<{ link: string; phase: string; protocol: string; seconds: number }> = [];
  for (const p of [report.imap, report.pop3]) {
    if (!p) continue;
    const protocol = p.protocol.toUpperCase();
    // Connecting and logging in come first on every link: one bar for both.
    const connect = [p.connection.connect.ms.median + p.login.ms.median, ...p.connection.connect.projections.map((c, i) => c.ms + p.login.projections[i].ms)];
    connect.forEach((ms, i) => values.push({ link: links[i], phase: 'Connect, log in', protocol, seconds: ms / 1000 }));
    for (const [phase, pick] of PROJECTED) {
      const f = pick(p);
      if (!f) continue;
      [f.ms.median, ...f.projections.map((x) => x.ms)].forEach((ms, i) => values.push({ link: links[i], phase, protocol, seconds: ms / 1000 }));
    }
  }
  const order = ['Connect, log in', ...PROJECTED.map(([phase]) => phase)];
  // A log scale: loopback milliseconds and a phone's tens of seconds on one axis.
  const floor = Math.max(Math.min(...values.map((v) => v.seconds).filter((v) => v > 0)) / 2, 1e-5);
  return {
    title: 'Measured here, and projected for your link',
    caption:
      'Seconds per task on a logarithmic scale: first as measured, then projected for each link: every round trip the protocol needed costs the link’s round-trip time, the transfer keeps the bandwidth measured here. TOP and RETR pipelined: POP3 with PIPELINING (RFC 2449).',
    svg: await render({
      data: { values: values.map((v) => ({ ...v, seconds: Math.max(v.seconds, floor) })) },
      facet: { row: { field: 'link', type: 'nominal', title: null, sort: links, header: { labelAngle: 0, labelAlign: 'left', labelAnchor: 'start', labelOrient: 'top', labelFontSize: 12, labelFontWeight: 'bold' } } },
      spec: {
        width: WIDTH,
        encoding: { y: { field: 'phase', type: 'nominal', title: null, sort: order }, yOffset: { field: 'protocol', sort: ['IMAP', 'POP3'] }, color },
        layer: [
          {
            mark: { type: 'bar', cornerRadiusEnd: 3, height: { band: 0.9 } },
            // A log axis has no zero: each bar starts at the axis's left end.
            encoding: { x: { field: 'seconds', type: 'quantitative', title: 'seconds (log scale)', scale: { type: 'log', domainMin: floor, nice: false } }, x2: { datum: floor } },
          },
          {
            mark: { type: 'text', align: 'left', dx: 4, fontSize: 10, color: '#374151' },
            encoding: { x: { field: 'seconds', type: 'quantitative' }, text: { field: 'seconds', type: 'quantitative', format: '.3~r' } },
          },
        ],
      },
      resolve: { scale: { x: 'shared' } },
    } as TopLevelSpec),
  };
}
