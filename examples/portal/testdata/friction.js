// Walks the portal in demo mode as a citizen would, in headless chromium:
// binds an authenticator app from the account page, signs in with it,
// removes it, then visits the main pages at 390 px. Every state is
// checked with axe-core, measured for sideways scrolling and kept as a
// screenshot. Prints a JSON report on stdout.
// Usage: node friction.js <chromium> <portal base URL>
const { chromium } = require('playwright-core');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const [executablePath, base] = process.argv.slice(2);
const shots = process.env.EGOVKIT_SCREENSHOT_DIR;
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const report = { states: [], errors: [] };

function base32(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of s.replace(/[\s=]/g, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const out = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) out.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(out);
}

function totp(secret, step) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const h = crypto.createHmac('sha1', secret).update(msg).digest();
  const o = h[h.length - 1] & 15;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}

// Each code is accepted once per 30-second step, one step either way: use
// the next step not used yet that is still within reach.
let lastStep = 0;
function nextCode(secret) {
  const now = Math.floor(Date.now() / 30000);
  const step = Math.max(lastStep + 1, now - 1);
  lastStep = step;
  return totp(secret, step);
}

// check records a state: axe-core violations, whether the page scrolls
// sideways, the text of its h1, and a screenshot.
async function check(page, name) {
  await page.addScriptTag({ content: axeSource });
  const axe = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }));
  const m = await page.evaluate(() => ({
    scrollWidth: document.scrollingElement.scrollWidth, innerWidth: window.innerWidth,
    h1: (document.querySelector('h1') || {}).textContent || '',
    text: document.body.innerText,
  }));
  const width = page.viewportSize().width;
  const shot = path.join(shots, `friction-${name}-${width}.png`);
  await page.screenshot({ path: shot, fullPage: true });
  report.states.push({
    name, width, url: page.url(), h1: m.h1.trim(), text: m.text,
    scrollWidth: m.scrollWidth, innerWidth: m.innerWidth, screenshot: shot,
    violations: axe.violations.map(v => ({ id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')) })),
  });
}

async function outboxCode(page) {
  const resp = await page.request.get(base + '/dev/outbox', { headers: { Accept: 'application/json' } });
  const box = await resp.json();
  const m = /\b[0-9]{6}\b/.exec(box.messages[0].text);
  return m[0];
}

async function signIn(page, start, username, password, name) {
  await page.goto(base + start);
  if (name) await check(page, name + '-signin');
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/login"] button[type=submit]')]);
  if (name) await check(page, name + '-code');
}

// visit opens a page of the portal, going through the sign-in with
// demo's password and an SMS code when the page asks for it.
async function visit(page, url) {
  await page.goto(base + url);
  if (!page.url().includes('/auth/citizen/login')) return;
  if (await page.$('#username')) {
    await page.fill('#username', 'demo');
    await page.fill('#password', 'demo-password');
    await Promise.all([page.waitForNavigation(), page.click('form[action$="/login"] button[type=submit]')]);
  }
  if (await page.$('#code')) await submitCode(page, await outboxCode(page));
}

async function submitCode(page, code) {
  await page.fill('#code', code);
  await Promise.all([page.waitForNavigation(), page.click('form:has(#code) button[type=submit]')]);
}

(async () => {
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  try {
    // Binding an app, at 1280 px, and removing it at 390 px.
    const desk = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } });
    let page = await desk.newPage();
    await signIn(page, '/account/?lang=en', 'demo', 'demo-password', 'account');
    await submitCode(page, await outboxCode(page));
    await check(page, 'account');
    await Promise.all([page.waitForNavigation(), page.click('form[action$="/authenticator/enrol"] button')]);
    await check(page, 'bind');
    const secret = base32(await page.textContent('code.secret'));
    await submitCode(page, '000000');
    await check(page, 'bind-wrong');
    await submitCode(page, nextCode(secret));
    await check(page, 'bound');

    // A fresh browser signs in with the app instead of an SMS.
    const phone = await browser.newContext({ bypassCSP: true, viewport: { width: 390, height: 844 } });
    page = await phone.newPage();
    const sent = (await (await page.request.get(base + '/dev/outbox', { headers: { Accept: 'application/json' } })).json()).messages.length;
    await signIn(page, '/account/?lang=en', 'demo', 'demo-password', 'app');
    const after = (await (await page.request.get(base + '/dev/outbox', { headers: { Accept: 'application/json' } })).json()).messages.length;
    report.smsSentForApp = after - sent;
    await submitCode(page, nextCode(secret));
    await check(page, 'app-signed-in');
    await Promise.all([page.waitForNavigation(), page.click('a[href$="/authenticator/remove"]')]);
    await check(page, 'remove');
    await submitCode(page, nextCode(secret));
    await check(page, 'removed');

    // The main pages at 390 px.
    await page.goto(base + '/?lang=el');
    await check(page, 'home');
    await page.goto(base + '/dev/outbox');
    await check(page, 'outbox');
    await visit(page, '/declarations/');
    await check(page, 'declarations-empty');
    await visit(page, '/declarations/new/solemn_declaration');
    for (const el of await page.$$('form textarea[required], form input[type=text][required]')) {
      await el.fill('Δηλώνω ότι τα στοιχεία που δίνω είναι αληθή και πλήρη.');
    }
    await Promise.all([page.waitForNavigation(), page.click('form button[type=submit]')]);
    await check(page, 'declaration-draft');
    await visit(page, '/declarations/');
    await check(page, 'declarations');
    await visit(page, '/consent/');
    await check(page, 'consent');
    const request = await page.$('a[href*="/consent/r/"]');
    if (request) {
      await Promise.all([page.waitForNavigation(), request.click()]);
      await check(page, 'consent-request');
    }
    await visit(page, '/consent/give');
    await check(page, 'consent-give');
    await visit(page, '/consent/log');
    await check(page, 'consent-log');
    await visit(page, '/demo/citizen/login?return=/demo/citizen/');
    await check(page, 'demo-site');
    await page.goto(base + '/verify');
    await check(page, 'verify');
    await page.goto(base + '/verify?code=not-a-code');
    await check(page, 'verify-malformed');
    // The same pages on a desktop screen.
    await page.setViewportSize({ width: 1280, height: 900 });
    for (const [name, url] of [['home', '/'], ['outbox', '/dev/outbox'], ['declarations', '/declarations/'],
      ['consent', '/consent/'], ['verify-malformed', '/verify?code=not-a-code']]) {
      await visit(page, url);
      await check(page, name);
    }
    await desk.close();
    await phone.close();
  } catch (err) {
    report.errors.push(String(err && err.stack || err));
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(report));
})();
