// Walks the once-only journey of the demo portal in headless chromium at
// 390 px, in Greek and in English, both ways: the citizen applies at the
// demo agency, signs in at the portal (password and the SMS code from the
// development outbox), reads the consent request and approves it (the
// agency fetches the certificate through the gateway) or refuses it (the
// agency asks for an upload, which is made). An approved application ends
// with a solemn declaration that it is true, which the agency issues and
// the citizen signs with a code from the outbox: its number, PDF and
// verification page; then an authorization of the other demo citizen
// (refused first with her own tax number), signed the same way; then the
// walk opens the access log of «Τα δεδομένα μου». Every page is checked
// with axe-core, measured for sideways scrolling and kept as a screenshot
// (the declaration's and the authorization's pages at 390 and 1280 px).
// Prints a JSON report.
// Usage: node journey.js <chromium> <portal base URL> <agency base URL>
const { chromium } = require('playwright-core');
const fs = require('fs');
const path = require('path');

const [executablePath, base, agency] = process.argv.slice(2);
const shots = process.env.EGOVKIT_SCREENSHOT_DIR;
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const report = { states: [], errors: [], walks: [] };

async function check(page, name) {
  await page.addScriptTag({ content: axeSource });
  const axe = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }));
  const m = await page.evaluate(() => ({
    scrollWidth: document.scrollingElement.scrollWidth, innerWidth: window.innerWidth,
    h1: (document.querySelector('h1') || {}).textContent || '',
    text: document.body.innerText, lang: document.documentElement.lang,
  }));
  const width = page.viewportSize().width;
  const shot = path.join(shots, `journey-${name}-${width}.png`);
  await page.screenshot({ path: shot, fullPage: true });
  report.states.push({
    name, width, url: page.url(), h1: m.h1.trim(), text: m.text, lang: m.lang,
    scrollWidth: m.scrollWidth, innerWidth: m.innerWidth, screenshot: shot,
    violations: axe.violations.map(v => ({ id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')) })),
  });
  return m.text;
}

// checkWide checks the page at 390 px and again at 1280 px.
async function checkWide(page, name) {
  const text = await check(page, name);
  await page.setViewportSize({ width: 1280, height: 900 });
  await check(page, name);
  await page.setViewportSize({ width: 390, height: 844 });
  return text;
}

async function outboxCode(page) {
  const resp = await page.request.get(base + '/dev/outbox', { headers: { Accept: 'application/json' } });
  const box = await resp.json();
  return /\b[0-9]{6}\b/.exec(box.messages[0].text)[0];
}

async function submit(page, selector) {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

// signIn answers the portal's sign-in pages, when they are shown, with
// demo's password and the SMS code, checking each.
async function signIn(page, prefix, user) {
  if (page.url().startsWith(base + '/auth/citizen/') && await page.$('#username')) {
    await check(page, prefix + '-signin');
    await page.fill('#username', user);
    await page.fill('#password', user + '-password');
    await submit(page, 'form[action$="/login"] button[type=submit]');
  }
  if (page.url().startsWith(base + '/auth/citizen/') && await page.$('#code')) {
    await check(page, prefix + '-code');
    await page.fill('#code', await outboxCode(page));
    await submit(page, 'form:has(#code) button[type=submit]');
  }
}

// walk applies once, in ctx: the first walk of a browser signs in, the
// next uses the sessions it left.
async function walk(ctx, lang, user, approve) {
  const prefix = `${lang}-${approve ? 'approve' : 'refuse'}`;
  const page = await ctx.newPage();
  const w = { lang, approve, user };
  try {
    if (approve) {
      // The portal's home page in demo mode links the agency.
      await page.goto(base + '/');
      await check(page, prefix + '-portal-home');
      await submit(page, `a[href="${agency}/"]`);
    } else {
      await page.goto(agency + '/');
    }
    await check(page, prefix + '-agency-home');
    await submit(page, 'a[href="/apply"]');
    await signIn(page, prefix, user);
    await check(page, prefix + '-agency-apply');
    await submit(page, 'form[action="/apply"] button[type=submit]');
    await signIn(page, prefix + '-consent', user);
    w.consentText = await check(page, prefix + '-consent-request');
    w.consentURL = page.url();
    await submit(page, approve ? 'form[action$="/approve"] button:not([formaction])' : 'button[formaction$="/refuse"]');
    w.applicationText = await check(page, prefix + '-agency-application');
    w.applicationURL = page.url();
    w.uploadForm = !!(await page.$('form[action$="/upload"]'));
    if (approve) {
      w.exchange = (await page.textContent('#exchange')).trim();
      w.consent = (await page.textContent('#consent')).trim();
      // The solemn declaration that the application is true: a code to
      // the citizen's mobile, then its protocol number, PDF and check.
      w.declarationIntro = await page.textContent('#declaration');
      await submit(page, 'form[action$="/declaration"] button[type=submit]');
      w.codeText = await checkWide(page, prefix + '-agency-declaration-code');
      await page.fill('#code', await outboxCode(page));
      await submit(page, 'form[action$="/declaration/confirm"] button[type=submit]');
      w.declaredText = await checkWide(page, prefix + '-agency-declared');
      w.declarationNumber = (await page.textContent('#declaration-number')).trim();
      const pdf = await page.request.get(new URL(await page.getAttribute('#declaration-pdf', 'href'), page.url()).href);
      w.pdfType = pdf.headers()['content-type'];
      w.pdfStart = (await pdf.body()).subarray(0, 5).toString();
      await submit(page, '#declaration-verify');
      w.verifyText = await checkWide(page, prefix + '-agency-verify');
      // Beside it, an authorization of the other demo citizen to follow
      // the application: first with her own tax number, refused beside
      // the field, then as it should be.
      const [own, other, otherName] = user === 'demo' ? ['123456783', '987654324', 'Γιάννης Παράδειγμα'] : ['987654324', '123456783', 'Μαρία Δοκιμαστική'];
      await page.goto(w.applicationURL);
      await page.fill('#grantee_afm', own);
      await page.fill('#grantee_name', otherName);
      await submit(page, 'form[action$="/authorization"] button[type=submit]');
      w.authzRefusedText = await checkWide(page, prefix + '-agency-authorization-refused');
      w.authzInvalid = await page.getAttribute('#grantee_afm', 'aria-invalid');
      await page.fill('#grantee_afm', other);
      await submit(page, 'form[action$="/authorization"] button[type=submit]');
      w.authzCodeText = await checkWide(page, prefix + '-agency-authorization-code');
      await page.fill('#authorization-code-input', await outboxCode(page));
      await submit(page, 'form[action$="/authorization/confirm"] button[type=submit]');
      w.authorizedText = await checkWide(page, prefix + '-agency-authorized');
      w.authorizationNumber = (await page.textContent('#authorization-number')).trim();
      await submit(page, '#authorization-verify');
      w.authzVerifyText = await checkWide(page, prefix + '-agency-authorization-verify');
      // The citizen's access log lists the exchange, its proof verified
      // once a checkpoint covers it (about a second).
      for (let i = 0; i < 20; i++) {
        await page.goto(base + '/consent/log');
        await signIn(page, prefix + '-log', user);
        const t = await page.evaluate(() => document.body.innerText);
        if (t.includes(w.exchange) && (t.includes('επαληθεύτηκε') || t.includes('proof verified'))) break;
        await page.waitForTimeout(500);
      }
      w.logText = await check(page, prefix + '-consent-log');
      // The log's table scrolls within itself on a phone: a desktop shows
      // the exchange and its proof at a glance.
      await page.setViewportSize({ width: 1280, height: 900 });
      await check(page, prefix + '-consent-log');
      await page.setViewportSize({ width: 390, height: 844 });
    } else {
      await page.setInputFiles('#certificate', { name: 'family-status.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n% a certificate\n') });
      await submit(page, 'form[action$="/upload"] button[type=submit]');
      w.uploadedText = await check(page, prefix + '-agency-uploaded');
    }
  } catch (err) {
    report.errors.push(prefix + ': ' + String(err && err.stack || err) + ' at ' + page.url());
    try { await page.screenshot({ path: path.join(shots, `journey-${prefix}-failed.png`), fullPage: true }); } catch (e) { /* closed */ }
  } finally {
    report.walks.push(w);
    await page.close();
  }
}

(async () => {
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  try {
    // Each citizen in a browser of their own, in their language.
    for (const [lang, user] of [['el', 'demo'], ['en', 'demo2']]) {
      const ctx = await browser.newContext({ bypassCSP: true, viewport: { width: 390, height: 844 }, locale: lang === 'el' ? 'el-GR' : 'en-GB' });
      await walk(ctx, lang, user, true);
      await walk(ctx, lang, user, false);
      await ctx.close();
    }
  } catch (err) {
    report.errors.push(String(err && err.stack || err));
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(report));
})();
