// Adds, removes and moves the items of a form's repeatable groups in the
// page, without sending the form, and leaves the form as the server would
// have written it after the same button, so that what it sends is the same.
// Without this script the buttons post the form and the server does it.
//
// The markup it works on, which works without it:
//   - a hidden input named n/KEY holds the number of items of group KEY;
//   - an item is a <fieldset class="card" id="f-KEY-I" tabindex="-1"> with
//     a <legend>; its fields are named /KEY/I/… and their ids, labels and
//     descriptions start f-KEY-I;
//   - an item's buttons are submit buttons named "action" with the values
//     up:KEY:I, down:KEY:I and remove:KEY:I, a visually hidden span naming
//     the item, and a formaction ending in the fragment to show; after the
//     items comes the button add:KEY, and before them a heading f-KEY;
//   - a <template data-group="KEY" data-legend="Step {n}" data-max="N">
//     holds an empty item;
//   - an element of the form with role="status" and data-added,
//     data-removed, data-up and data-down, sentences with {item}, is where
//     changes are said to screen readers.
'use strict';
(() => {
  const action = /^(add|remove|up|down):([a-z_]+)(?::\d+)?$/;

  // The items of group key, in the order of the page.
  const itemsOf = (form, key) => {
    const id = new RegExp(`^f-${key}-\\d+$`);
    return [...form.querySelectorAll('fieldset.card')].filter((f) => id.test(f.id));
  };

  // renumber names every item of group key after its place, as the server
  // would: names, ids, labels, descriptions, legends and buttons.
  const renumber = (form, key, tpl) => {
    const items = itemsOf(form, key);
    const place = new RegExp(`^(/${key}/|f-${key}-)\\d+`);
    const attrs = ['id', 'name', 'for', 'aria-describedby'];
    items.forEach((item, i) => {
      const fix = (v) => v.split(' ').map((t) => t.replace(place, `$1${i}`)).join(' ');
      for (const el of [item, ...item.querySelectorAll('[id], [name], [for], [aria-describedby]')]) {
        for (const a of attrs) {
          if (el.hasAttribute(a) && !(a === 'name' && el.localName === 'button')) {
            el.setAttribute(a, fix(el.getAttribute(a)));
          }
        }
      }
      const legend = tpl.dataset.legend.replace('{n}', i + 1);
      item.querySelector('legend').textContent = legend;
      for (const b of item.querySelectorAll('button[name="action"]')) {
        const verb = b.value.split(':')[0];
        const to = { up: `-${i - 1}`, down: `-${i + 1}` }[verb] || '';
        b.value = `${verb}:${key}:${i}`;
        b.setAttribute('formaction', `${b.getAttribute('formaction').split('#')[0]}#f-${key}${to}`);
        b.hidden = (verb === 'up' && i === 0) || (verb === 'down' && i === items.length - 1);
        const named = b.querySelector('.visually-hidden');
        if (named) named.textContent = ` (${legend})`;
      }
    });
    form.querySelector(`input[name="n/${key}"]`).value = String(items.length);
    const add = form.querySelector(`button[name="action"][value="add:${key}"]`);
    add.setAttribute('formaction', `${add.getAttribute('formaction').split('#')[0]}#f-${key}-${items.length}`);
    return items;
  };

  const say = (status, what, item) => {
    status.textContent = status.dataset[what].replace('{item}', item);
  };

  const change = (form, status, button, verb, key, tpl) => {
    let items = itemsOf(form, key);
    const item = button.closest('fieldset.card');
    const i = items.indexOf(item);
    if (verb === 'add' ? items.length >= Number(tpl.dataset.max) : i < 0) {
      return false; // the server answers what the page cannot do
    }
    // Ids before the change, so that links to a field (the summary of
    // errors) follow it to its new place.
    const before = new Map([...form.querySelectorAll(`[id^="f-${key}-"]`)].map((el) => [el.id, el]));
    switch (verb) {
      case 'add': {
        const added = tpl.content.firstElementChild.cloneNode(true);
        button.parentElement.before(added);
        items = renumber(form, key, tpl);
        added.querySelector('input, select, textarea').focus();
        say(status, 'added', added.querySelector('legend').textContent);
        break;
      }
      case 'remove': {
        const gone = item.querySelector('legend').textContent;
        item.remove();
        items = renumber(form, key, tpl);
        (items[i] || items[i - 1] || document.getElementById(`f-${key}`)).focus();
        say(status, 'removed', gone);
        break;
      }
      default: {
        const other = items[verb === 'up' ? i - 1 : i + 1];
        if (!other) return true;
        // The other item moves, so that the button pressed keeps the focus.
        if (verb === 'up') item.after(other);
        else item.before(other);
        items = renumber(form, key, tpl);
        if (button.hidden) {
          const still = [...item.querySelectorAll('button[name="action"]')].find((b) => !b.hidden && b.value.startsWith(verb === 'up' ? 'down:' : 'up:'));
          (still || item).focus();
        } else {
          button.focus();
        }
        say(status, verb, item.querySelector('legend').textContent);
      }
    }
    for (const a of document.querySelectorAll(`a[href^="#f-${key}-"]`)) {
      const el = before.get(a.getAttribute('href').slice(1));
      if (el) a.setAttribute('href', `#${el.isConnected ? el.id : `f-${key}`}`);
    }
    return true;
  };

  for (const form of document.querySelectorAll('form')) {
    const status = form.querySelector('[role="status"][data-added]');
    if (!status) continue;
    form.addEventListener('click', (e) => {
      const button = e.target.closest('button[name="action"]');
      const m = button && action.exec(button.value);
      const tpl = m && document.querySelector(`template[data-group="${m[2]}"]`);
      if (!tpl || !form.querySelector(`input[name="n/${m[2]}"]`)) return;
      if (change(form, status, button, m[1], m[2], tpl)) e.preventDefault();
    });
  }
})();
