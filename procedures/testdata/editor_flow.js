// Walks the editors' workspace in headless chromium as an editor and an
// approver would: create a procedure with an error, fix it, preview,
// submit, approve, publish, revise it from its public page, and approve
// the revision with what changed beside it, all with the form's script
// absent, so that its buttons post the form. Then, with the script and
// the pages' own Content-Security-Policy, it adds, moves and removes
// items without leaving the page and creates a draft with what the form
// then holds; and with JavaScript off it adds a step by the server. At
// each state it takes a full-page screenshot 1280 and 390 pixels wide,
// checks that nothing scrolls sideways at 390, and runs axe-core with the
// WCAG 2.1 A and AA rules. It prints what it found as JSON on stdout, and
// fails when the page does not behave as expected.
// Usage: node editor_flow.js <chromium> <base URL of the pages> <directory for screenshots>
const { chromium } = require('playwright-core');
const fs = require('fs');
const path = require('path');

(async () => {
  const [executablePath, base, dir] = process.argv.slice(2);
  const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  const states = [];
  const enhanced = {};
  const expect = (ok, what) => {
    if (!ok) throw new Error(`not as expected: ${what}`);
  };
  try {
    // The pages' CSP forbids inline scripts, rightly; the checker is let in.
    // The form's script is kept out: the flow is what a browser without it sees.
    const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } });
    await context.route(/\/static\/groups\.[0-9a-f]+\.js$/, (route) => route.abort());
    let page = await context.newPage();
    const as = async (who) => context.addCookies([{ name: 'egovkit_test_user', value: who, url: base }]);
    const button = (name) => page.getByRole('button', { name, exact: true });
    const press = async (name) => {
      const b = button(name);
      const n = await b.count();
      if (n !== 1) {
        const names = await page.getByRole('button').allInnerTexts();
        throw new Error(`${n} buttons named "${name}" on ${page.url()}; there are ${JSON.stringify(names)}`);
      }
      await Promise.all([page.waitForNavigation({ timeout: 15000 }), b.click({ timeout: 10000 })]);
    };
    const go = async (url) => page.goto(url, { waitUntil: 'load' });

    const state = async (name, expect) => {
      const s = { name, url: page.url(), screenshots: [], missing: [] };
      const text = await page.locator('main').innerText();
      for (const want of expect || []) {
        if (!text.includes(want)) s.missing.push(want);
      }
      for (const width of [1280, 390]) {
        await page.setViewportSize({ width, height: 900 });
        const file = path.join(dir, `editor-${name}-${width}.png`);
        await page.screenshot({ path: file, fullPage: true });
        s.screenshots.push(file);
        if (width === 390) {
          s.overflow = await page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);
        }
      }
      await page.setViewportSize({ width: 1280, height: 900 });
      // Evaluated by the browser's tools, which the page's policy does not bind.
      await page.evaluate(axeSource);
      const result = await page.evaluate(async () =>
        // eslint-disable-next-line no-undef
        await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }));
      s.passes = result.passes.length;
      s.violations = result.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')),
      }));
      states.push(s);
    };

    // An editor starts a procedure from the workspace.
    await as('editor');
    await go(base + '/edit/?lang=en');
    await state('workspace', ['Signed in as Eleni Papadopoulou.', 'Published procedures']);
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'New procedure' }).click()]);
    await state('new', ['Steps', 'Add a step']);
    await go(base + '/edit/new?lang=el');
    await state('new-el', ['Βήματα', 'Προσθήκη βήματος', 'Τίτλος στα ελληνικά']);
    await go(base + '/edit/new?lang=en');

    await page.fill('#f-id', 'pet-passport');
    await page.fill('#f-title-el', 'Διαβατήριο κατοικίδιου');
    await page.fill('#f-title-en', 'Pet passport');
    await page.fill('#f-description-el', 'Έκδοση ευρωπαϊκού διαβατηρίου για σκύλο, γάτα ή κουνάβι.');
    await page.fill('#f-description-en', 'Issue of a European passport for a dog, cat or ferret.');
    await page.selectOption('#f-type', 'document');
    await page.fill('#f-authority-id', 'vet-services');
    await page.fill('#f-authority-name-el', 'Κτηνιατρικές υπηρεσίες');
    await page.fill('#f-steps-0-title-el', 'Αίτηση');
    await page.fill('#f-steps-0-title-en', 'Apply');
    await page.selectOption('#f-steps-0-actor', 'applicant');
    await page.selectOption('#f-steps-0-channel', 'digital');
    await page.selectOption('#f-channels-0-type', 'digital');
    await page.fill('#f-channels-0-url', 'https://www.gov.gr/pets');
    await press('Add a document');
    await page.fill('#f-evidence-0-id', 'vaccination-record');
    await page.fill('#f-evidence-0-title-el', 'Βιβλιάριο εμβολίων');
    await page.fill('#f-evidence-0-title-en', 'Vaccination record');
    await page.check('#f-evidence-0-submission-in_person');
    await press('Add a cost');
    await page.fill('#f-costs-0-title-el', 'Παράβολο');
    await page.fill('#f-costs-0-title-en', 'Fee');
    await page.fill('#f-costs-0-min', 'twelve');
    await page.fill('#f-costs-0-max', '12');
    await page.fill('#f-costs-0-currency', 'EUR');
    await press('Create the draft');
    await state('error', ['There is a problem', 'Step 1: Where the step is taken online: Fill this in.', 'Write a number, such as 12.50.']);

    // The editor fixes both and previews the citizen's page.
    await page.fill('#f-steps-0-url', 'https://www.gov.gr/pets/apply');
    await page.fill('#f-costs-0-min', '12');
    await press('Save and preview');
    await state('preview', ['Preview: citizens do not see this yet', 'Pet passport', 'Fee: 12.00 EUR', 'Vaccination record']);
    await press('Submit for approval');
    await state('submitted', ['Pending approval']);

    // An approver approves and publishes.
    const review = page.url();
    await as('approver');
    await go(review);
    await state('review-first', ['Approve', 'Send back to the editor']);
    await press('Approve');
    await press('Publish');
    await state('published', ['Published', 'Nikos Georgiou (ngeorgiou)']);

    // The editor revises it from its public page.
    await as('editor');
    await go(base + '/pet-passport');
    await state('public-editor', ['Revise this procedure', 'Pet passport']);
    await press('Revise this procedure');
    await page.fill('#f-steps-0-title-en', 'Apply online');
    await page.fill('#f-processing_time', 'P5D');
    await page.fill('#f-steps-0-url', 'https://www.gov.gr/ipiresies/polites-kai-kathemerinoteta/katoikidia/diavatirio-katoikidiou');
    await press('Add a question');
    await page.fill('#f-faq-0-question-el', 'Πόσο ισχύει;');
    await page.fill('#f-faq-0-question-en', 'How long is it valid?');
    await page.fill('#f-faq-0-answer-el', 'Για όλη τη ζωή του ζώου.');
    await page.fill('#f-faq-0-answer-en', 'For the animal\'s whole life.');
    await press('Add a step');
    await press('Move up (Step 2)');
    await state('revision', ['Step 2', 'Question 1']);
    await press('Remove (Step 1)');
    await press('Save and preview');
    await press('Submit for approval');

    // The approver sees what changed, field by field, and publishes.
    const revision = page.url();
    await as('approver');
    await go(revision);
    await state('diff', ['What changed since the published version 1', 'Step 1: Title in English', 'Apply online', 'added']);
    await go(revision + '?lang=el');
    await state('diff-el', ['Τι άλλαξε από τη δημοσιευμένη έκδοση 1', 'Βήμα 1: Τίτλος στα αγγλικά', 'προστέθηκε']);
    await go(revision + '?lang=en');
    await press('Approve');
    await press('Publish');
    await go(base + '/pet-passport');
    await state('public-revised', ['Apply online', 'How long is it valid?']);
    await context.close();

    // With the script, under the pages' own policy: the groups change in
    // the page, and what the form sends is what it shows.
    const scripted = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await scripted.addInitScript(() => {
      window.cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    await scripted.addCookies([{ name: 'egovkit_test_user', value: 'editor', url: base }]);
    page = await scripted.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await go(base + '/edit/new?lang=en');
    await page.evaluate(() => { window.stayed = 'this page'; });
    const tap = async (name) => {
      const n = await button(name).count();
      expect(n === 1, `one button "${name}", found ${n}`);
      await button(name).click({ timeout: 10000 });
    };
    const look = () => page.evaluate(() => ({
      focus: document.activeElement.id || document.activeElement.textContent,
      said: document.querySelector('[role="status"][data-added]').textContent,
      steps: document.querySelector('input[name="n/steps"]').value,
      titles: [...document.querySelectorAll('input[name^="/steps/"][name$="/title/en"]')].map((i) => `${i.name}=${i.value}`),
    }));
    await page.fill('#f-steps-0-title-en', 'Apply');
    await tap('Add a step');
    let now = await look();
    expect(now.steps === '2' && now.focus === 'f-steps-1-title-el' && now.said === 'Added: Step 2.', `add: ${JSON.stringify(now)}`);
    await page.fill('#f-steps-1-title-en', 'Book');
    await state('enhanced-added', ['Step 2', 'Move up']);
    await tap('Move up (Step 2)');
    now = await look();
    expect(now.said === 'Moved up: Step 1.' && now.focus.startsWith('Move down'), `move: ${JSON.stringify(now)}`);
    expect(now.titles.join() === '/steps/0/title/en=Book,/steps/1/title/en=Apply', `moved: ${now.titles}`);
    await tap('Add a question');
    await page.fill('#f-faq-0-question-el', 'Πόσο κοστίζει;');
    await page.fill('#f-faq-0-answer-el', 'Τίποτα.');
    await page.fill('#f-faq-0-question-en', 'What does it cost?');
    await page.fill('#f-faq-0-answer-en', 'Nothing.');
    await state('enhanced-moved', ['Step 1', 'Question 1', 'Move down']);
    await tap('Remove (Step 2)');
    now = await look();
    expect(now.steps === '1' && now.focus === 'f-steps-0' && now.said === 'Removed: Step 2.', `remove: ${JSON.stringify(now)}`);
    expect(now.titles.join() === '/steps/0/title/en=Book', `left: ${now.titles}`);
    await state('enhanced-removed', ['Step 1', 'Question 1']);
    enhanced.stayed = await page.evaluate(() => window.stayed);
    enhanced.navigations = await page.evaluate(() => performance.getEntriesByType('navigation').length);
    enhanced.csp = await page.evaluate(() => window.cspViolations);

    // A link of the summary of errors follows its field when the item moves.
    await press('Create the draft');
    const link = () => page.evaluate(() => [...document.querySelectorAll('.error-summary a')]
      .map((a) => a.getAttribute('href')).filter((h) => h.startsWith('#f-steps-')).join());
    const first = await link();
    await tap('Add a step');
    await tap('Move down (Step 1)');
    const moved = await link();
    await tap('Remove (Step 1)');
    const removed = await link();
    // The blank step added and moved above the first is removed again.
    expect(first.startsWith('#f-steps-0-title-el') && moved === first.replaceAll('-0-', '-1-') && removed === first,
      `summary links: ${first}, then ${moved}, then ${removed}`);

    await page.fill('#f-id', 'pet-licence');
    await page.fill('#f-title-el', 'Άδεια κατοικίδιου');
    await page.fill('#f-title-en', 'Pet licence');
    await page.fill('#f-description-el', 'Άδεια για σκύλο.');
    await page.fill('#f-description-en', 'A licence for a dog.');
    await page.selectOption('#f-type', 'permit');
    await page.fill('#f-authority-id', 'vet-services');
    await page.fill('#f-authority-name-el', 'Κτηνιατρικές υπηρεσίες');
    await page.fill('#f-steps-0-title-el', 'Ραντεβού');
    await page.selectOption('#f-steps-0-actor', 'applicant');
    await page.selectOption('#f-steps-0-channel', 'in_person');
    await page.selectOption('#f-channels-0-type', 'in_person');
    await press('Create the draft');
    enhanced.saved = page.url();
    enhanced.errors = errors;
    await scripted.close();

    // With JavaScript off, the same button asks the server.
    const off = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
    await off.addCookies([{ name: 'egovkit_test_user', value: 'editor', url: base }]);
    page = await off.newPage();
    await go(base + '/edit/new?lang=en');
    await page.fill('#f-steps-0-title-en', 'Apply');
    await press('Add a step');
    enhanced.serverAdded = page.url();
    enhanced.serverKept = await page.inputValue('#f-steps-0-title-en');
    enhanced.serverSteps = await page.locator('input[name="n/steps"]').inputValue();
    await off.close();
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify({ states, enhanced }));
})().catch(err => { console.error(err); process.exit(1); });
