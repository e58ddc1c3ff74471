#!/usr/bin/env node
// Renders the pictures of overview.md (packed in the extension) with headless Chromium:
//   images/how-it-fits.png   from images/src/how-it-fits.html
//   images/run-summary.png   from images/src/run-summary.md, a task's Markdown summary as the
//                            pipeline's Extensions tab shows it
// `node scripts/render-images.mjs [--summary <file.md>]` re-renders both (a summary taken from a
// fresh `npm start` may replace images/src/run-summary.md). Needs Debian's chromium.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { marked } from 'marked';

// Azure DevOps links only what is written as a link: no autolinks (RegisterSystem@1.0.0 is no address).
marked.use({ tokenizer: { url: () => undefined } });

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const images = join(root, 'images');
const args = process.argv.slice(2);
const summaryFile = args.includes('--summary') ? args[args.indexOf('--summary') + 1] : join(images, 'src', 'run-summary.md');
const browser = ['chromium', 'chromium-browser', 'google-chrome'].find((b) => {
  try {
    execFileSync('which', [b], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});
if (!browser) {
  process.stderr.write('No Chromium found: apt-get install chromium\n');
  process.exit(1);
}

function screenshot(htmlFile, pngFile, width, height) {
  const profile = mkdtempSync(join(tmpdir(), 'render-'));
  try {
    execFileSync(browser, ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', `--user-data-dir=${profile}`,
      `--window-size=${width},${height}`, `--screenshot=${pngFile}`, `file://${htmlFile}`], { stdio: 'ignore', timeout: 60_000 });
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
  if (!existsSync(pngFile)) throw new Error(`Chromium wrote no ${pngFile}`);
  process.stdout.write(`wrote ${pngFile}\n`);
}

// The Extensions tab of a pipeline run: the step's summary in Azure DevOps' typography.
const summaryHtml = `<!doctype html><html><head><meta charset="utf-8"><style>
  body { margin: 0; font-family: "Segoe UI", "DejaVu Sans", sans-serif; font-size: 14px; color: #201f1e; background: #f8f8f8; }
  .tab { margin: 16px; background: #fff; border: 1px solid #e1dfdd; border-radius: 4px; padding: 8px 20px 16px; width: 1060px; }
  .bar { font-size: 13px; color: #605e5c; border-bottom: 1px solid #e1dfdd; padding: 8px 0; margin-bottom: 8px; }
  .bar b { color: #0078d4; border-bottom: 2px solid #0078d4; padding-bottom: 7px; }
  h3 { font-size: 17px; font-weight: 600; } h4 { font-size: 15px; font-weight: 600; margin: 16px 0 6px; }
  table { border-collapse: collapse; margin: 6px 0; } td, th { border: 1px solid #e1dfdd; padding: 4px 8px; text-align: left; vertical-align: top; }
  th { background: #faf9f8; } code { font-family: "DejaVu Sans Mono", monospace; font-size: 12.5px; background: #f3f2f1; padding: 0 3px; }
  ul { margin: 4px 0; padding-left: 22px; } li { margin: 2px 0; }
</style></head><body><div class="tab"><div class="bar">Summary &nbsp; Tests &nbsp; <b>Extensions</b></div>
${marked.parse(readFileSync(summaryFile, 'utf8'))}
</div></body></html>`;
const work = mkdtempSync(join(tmpdir(), 'render-src-'));
try {
  const summaryPage = join(work, 'run-summary.html');
  writeFileSync(summaryPage, summaryHtml);
  screenshot(join(images, 'src', 'how-it-fits.html'), join(images, 'how-it-fits.png'), 1200, 470);
  screenshot(summaryPage, join(images, 'run-summary.png'), 1100, 640);
} finally {
  rmSync(work, { recursive: true, force: true });
}
