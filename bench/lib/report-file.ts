/**
 * `--report docs/performance.md`: the latest run's table and ratio chart
 * written into the document between its markers, the hand-written text
 * around them kept. Next to it: the chart as SVG (rendered by vega in Node,
 * as the speed-test report's charts are: no script, nothing fetched), its
 * vega-lite spec as JSON, and a PNG of it when a headless Chromium is
 * installed (/usr/bin/chromium, driven by playwright-core, with every
 * non-file request refused).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BenchReport, formatMarkdown, ratioChartSpec, renderSvg, spliceReport } from './report.js';

const CHROMIUM = '/usr/bin/chromium';

/** Writes the report into `mdFile` and the chart files beside it; returns the files written. */
export async function writeMarkdownReport(report: BenchReport, mdFile: string): Promise<string[]> {
  const dir = dirname(mdFile);
  const stem = basename(mdFile).replace(/\.md$/, '');
  const spec = ratioChartSpec(report);
  const svgFile = join(dir, `${stem}-ratios.svg`);
  const specFile = join(dir, `${stem}-ratios.vl.json`);
  const pngFile = join(dir, `${stem}-ratios.png`);
  const svg = await renderSvg(spec);
  writeFileSync(svgFile, svg);
  writeFileSync(specFile, `${JSON.stringify(spec, null, 2)}\n`);
  const written = [mdFile, svgFile, specFile];
  if (existsSync(CHROMIUM)) {
    await renderPng(svgFile, pngFile);
    written.push(pngFile);
  }
  const doc = existsSync(mdFile) ? readFileSync(mdFile, 'utf8') : '# Performance\n';
  writeFileSync(mdFile, spliceReport(doc, formatMarkdown(report, basename(svgFile))));
  return written;
}

async function renderPng(svgFile: string, pngFile: string): Promise<void> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 900, height: 400 }, deviceScaleFactor: 2 });
    // The chart is self-contained: anything but the file itself would be a bug, so it is refused.
    await page.route('**/*', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()));
    await page.goto(pathToFileURL(svgFile).href);
    const box = await page.evaluate(() => {
      const r = document.documentElement.getBoundingClientRect();
      return { width: Math.ceil(r.width), height: Math.ceil(r.height) };
    });
    await page.setViewportSize({ width: Math.max(box.width, 100), height: Math.max(box.height, 100) });
    await page.screenshot({ path: pngFile, clip: { x: 0, y: 0, width: box.width, height: box.height }, omitBackground: false });
  } finally {
    await browser.close();
  }
}
