// Loads a page in headless chromium, runs axe-core on it with the WCAG 2.1
// A and AA rules, and prints the violations as JSON on stdout, with the
// page's width against the window's and what sticks out sideways.
// Usage: node axe.js <chromium> <url> [<width> <height> [<screenshot.png>]]
const { chromium } = require('playwright-core');
const fs = require('fs');

(async () => {
  const [executablePath, url, width, height, shot] = process.argv.slice(2);
  const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  try {
    // The pages' CSP forbids inline scripts, rightly; the checker is let in.
    const options = { bypassCSP: true };
    if (width) options.viewport = { width: Number(width), height: Number(height) };
    const page = await browser.newPage(options);
    const resp = await page.goto(url, { waitUntil: 'load' });
    if (!resp) throw new Error('no response for ' + url);
    // Measured before axe adds anything to the page.
    const layout = await page.evaluate(() => {
      const inner = window.innerWidth;
      // Elements whose right edge passes the window, outside any box that
      // scrolls or clips on its own: what makes the page scroll sideways.
      // (Such a box holds in an absolutely positioned element only when
      // it is positioned itself; this check assumes it is not.)
      const clipped = el => {
        if (['absolute', 'fixed'].includes(getComputedStyle(el).position)) return false;
        for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
          if (getComputedStyle(p).overflowX !== 'visible') return true;
        }
        return false;
      };
      const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
        (el.classList.length ? '.' + [...el.classList].join('.') : '');
      const overflowing = [...document.body.querySelectorAll('*')]
        .filter(el => el.getBoundingClientRect().right > inner + 0.5 && !clipped(el))
        .slice(0, 10).map(name);
      return { scrollWidth: document.scrollingElement.scrollWidth, innerWidth: inner, overflowing };
    });
    if (shot) await page.screenshot({ path: shot, fullPage: true });
    await page.addScriptTag({ content: axeSource });
    const result = await page.evaluate(async () =>
      // eslint-disable-next-line no-undef
      await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }));
    const violations = result.violations.map(v => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map(n => n.target.join(' ')),
    }));
    process.stdout.write(JSON.stringify({ url: page.url(), passes: result.passes.length, violations, ...layout }));
  } finally {
    await browser.close();
  }
})().catch(err => { console.error(err); process.exit(1); });
