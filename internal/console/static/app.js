// The wbemd web console: a single page over the JSON door (/api/v1/).
// Plain modern JavaScript, no build step. Every text from the server is
// put in the page with textContent (el() below), never as HTML.

const API = '/api/v1/';
const main = document.getElementById('main');
const side = document.getElementById('side');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
const statusLine = document.getElementById('status');

// ---------- small DOM helpers ----------

// el builds an element: el('a', {href: '#'}, 'text', child...).
function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, v);
  }
  for (const k of kids.flat()) {
    if (k === undefined || k === null || k === false) continue;
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return e;
}

// show puts a view in the page and names the tab after its heading.
function show(...kids) {
  main.replaceChildren(...kids);
  const h = main.querySelector('h1');
  document.title = h ? `${h.textContent} · wbemd` : 'wbemd console';
}

function announce(text) {
  statusLine.textContent = text;
}

const enc = encodeURIComponent;

// ---------- the JSON door ----------

// WbemError is a failure the door answered: its WBEM status name, code,
// message and extended status.
class WbemError extends Error {
  constructor(status, body) {
    super(body.message || `HTTP ${status}`);
    this.status = status;
    this.name = body.name || `HTTP_${status}`;
    this.code = body.code;
    this.extended = body.extended || {};
  }
}

function authHeader() {
  return sessionStorage.getItem('wbemd.auth');
}

// api calls the door; it returns {data, headers} or throws a WbemError.
async function api(method, path, {body, ifMatch, text} = {}) {
  const headers = {'X-WBEM-Client': 'console', 'Accept': 'application/json'};
  const auth = authHeader();
  if (auth) headers['Authorization'] = auth;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (ifMatch) headers['If-Match'] = ifMatch;
  let rsp;
  try {
    rsp = await fetch(API + path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit'});
  } catch (e) {
    throw new WbemError(0, {name: 'WBEM_E_TRANSPORT_FAILURE', message: 'the server cannot be reached: ' + e.message});
  }
  if (rsp.status === 401 && !path.startsWith('namespaces?login')) {
    sessionStorage.removeItem('wbemd.auth');
    if (location.hash !== '#/login') {
      sessionStorage.setItem('wbemd.after', location.hash);
      location.hash = '#/login';
    }
  }
  if (rsp.status === 204) return {data: null, headers: rsp.headers};
  const ctype = rsp.headers.get('Content-Type') || '';
  if (!rsp.ok) {
    let b = {};
    if (ctype.includes('json')) b = await rsp.json().catch(() => ({}));
    throw new WbemError(rsp.status, b);
  }
  const data = text || !ctype.includes('json') ? await rsp.text() : await rsp.json();
  return {data, headers: rsp.headers};
}

// Words for the WBEM statuses a person meets most.
const WORDS = {
  WBEM_E_ACCESS_DENIED: 'You do not have the right to do this here. An administrator can grant it in the namespace security.',
  WBEM_E_NOT_FOUND: 'The object does not exist (any more).',
  WBEM_E_INVALID_CLASS: 'There is no such class in this namespace.',
  WBEM_E_INVALID_NAMESPACE: 'There is no such namespace.',
  WBEM_E_TYPE_MISMATCH: 'A value does not have the type its property declares.',
  WBEM_E_ALREADY_EXISTS: 'An instance with these keys exists already.',
  WBEM_E_TRANSACTION_CONFLICT: 'Someone changed this instance after you opened it. Reload it to see the change, then edit again.',
  WBEM_E_ILLEGAL_NULL: 'A key or a Required property has no value.',
  WBEM_E_INVALID_PARAMETER: 'A value or an option of the request is not valid.',
  WBEM_E_INVALID_QUERY: 'The query is not valid WQL.',
  WBEM_E_INVALID_OBJECT_PATH: 'The object path is not valid.',
  WBEM_E_INVALID_METHOD_PARAMETERS: 'The method was given a parameter it does not take, or a value of the wrong type.',
  WBEM_E_PROVIDER_NOT_CAPABLE: 'The provider of this class cannot do this.',
  WBEM_E_NOT_SUPPORTED: 'This is not supported here.',
  WBEM_E_INVALID_PROPERTY: 'The class has no such property.',
  WBEM_E_READ_ONLY: 'The property cannot be written.',
  WBEM_E_TRANSPORT_FAILURE: 'The server cannot be reached.',
  WBEM_E_SHUTTING_DOWN: 'The server is shutting down.',
};

// errorBox shows a failure in words: the status name, what it means, the
// server's message and where it happened.
function errorBox(e) {
  const name = e.name || 'WBEM_E_FAILED';
  const ext = e.extended || {};
  const where = [ext.operation && `operation ${ext.operation}`, ext.parameterInfo && `on ${ext.parameterInfo}`,
    ext.providerName && ext.providerName !== 'wbemd' && `provider ${ext.providerName}`].filter(Boolean).join(', ');
  return el('div', {class: 'error', role: 'alert'},
    el('strong', {}, name + (e.code ? ` (0x${(e.code >>> 0).toString(16).toUpperCase()})` : '')),
    WORDS[name] ? el('div', {}, WORDS[name]) : null,
    e.message ? el('div', {}, e.message) : null,
    where ? el('div', {class: 'hint'}, where) : null);
}

// ---------- routing ----------

const state = {ns: localStorage.getItem('wbemd.ns') || 'root/cimv2', user: '', treeNS: ''};

function route() {
  const hash = location.hash || '#/';
  const parts = hash.slice(2).split('/').map(decodeURIComponent);
  if (!authHeader() && parts[0] !== 'login') {
    sessionStorage.setItem('wbemd.after', hash);
    location.hash = '#/login';
    return;
  }
  let view;
  if (parts[0] === 'login') view = loginView();
  else if (parts[0] === 'ns' && parts[1]) {
    setNS(parts[1]);
    const [, , what, arg, sub] = parts;
    if (what === 'classes') view = classHome();
    else if (what === 'class' && sub === 'instances') view = instancesView(arg);
    else if (what === 'class' && sub === 'new') view = editorView(arg, null);
    else if (what === 'class') view = classView(arg);
    else if (what === 'edit') view = editorView(null, arg);
    else if (what === 'query') view = queryView();
    else if (what === 'events') view = eventsView();
    else view = classHome();
  } else if (parts[0] === 'providers') view = providersView();
  else if (parts[0] === 'classes') { location.hash = `#/ns/${enc(state.ns)}/classes`; return; }
  else if (parts[0] === 'query') { location.hash = `#/ns/${enc(state.ns)}/query`; return; }
  else if (parts[0] === 'events') { location.hash = `#/ns/${enc(state.ns)}/events`; return; }
  else view = namespacesView();
  markNav(parts);
  Promise.resolve(view).catch(e => show(errorBox(e)));
}

function markNav(parts) {
  const section = parts[0] === 'ns' ? ({classes: 'classes', class: 'classes', edit: 'classes', query: 'query', events: 'events'}[parts[2]] || 'classes')
    : parts[0] === 'providers' ? 'providers' : parts[0] === 'login' ? '' : 'ns';
  for (const a of nav.querySelectorAll('a')) {
    const n = a.dataset.nav;
    if (n === 'classes' || n === 'query' || n === 'events') a.href = `#/ns/${enc(state.ns)}/${n}`;
    if (n === section) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
}

function setNS(ns) {
  if (state.ns !== ns) {
    state.ns = ns;
    localStorage.setItem('wbemd.ns', ns);
  }
  side.hidden = false;
  if (state.treeNS !== ns) loadTree();
}

function nsPath() {
  return `namespaces/${enc(state.ns)}`;
}

// ---------- log in ----------

function loginView() {
  nav.hidden = true;
  side.hidden = true;
  who.replaceChildren();
  const err = el('div');
  const user = el('input', {id: 'user', name: 'user', autocomplete: 'username', required: true});
  const pw = el('input', {id: 'password', name: 'password', type: 'password', autocomplete: 'current-password'});
  const form = el('form', {class: 'login', onsubmit: async ev => {
    ev.preventDefault();
    sessionStorage.setItem('wbemd.auth', 'Basic ' + btoa(unescape(encodeURIComponent(user.value + ':' + pw.value))));
    try {
      await api('GET', 'namespaces');
      state.user = user.value;
      sessionStorage.setItem('wbemd.user', user.value);
      const after = sessionStorage.getItem('wbemd.after');
      sessionStorage.removeItem('wbemd.after');
      location.hash = after && after !== '#/login' ? after : '#/';
    } catch (e) {
      sessionStorage.removeItem('wbemd.auth');
      err.replaceChildren(errorBox(e.status === 401 ? {name: 'WBEM_E_ACCESS_DENIED', message: 'The user name or the password is wrong.'} : e));
    }
  }},
  el('h1', {}, 'Log in to wbemd'),
  el('label', {for: 'user'}, 'User'), user,
  el('label', {for: 'password'}, 'Password'), pw,
  el('div', {class: 'toolbar'}, el('button', {class: 'primary', type: 'submit', id: 'login'}, 'Log in')),
  err);
  show(form);
  user.focus();
}

function loggedIn() {
  nav.hidden = false;
  const name = sessionStorage.getItem('wbemd.user') || '';
  who.replaceChildren(el('span', {id: 'whoami'}, name),
    el('button', {type: 'button', id: 'logout', onclick: () => { stopEvents(); sessionStorage.clear(); state.treeNS = ''; location.hash = '#/login'; }}, 'Log out'));
  if (live.ctl) who.prepend(liveFlag());
}

// ---------- namespaces ----------

async function namespacesView() {
  loggedIn();
  side.hidden = true;
  show(el('h1', {}, 'Namespaces'), el('p', {}, 'Loading…'));
  const {data} = await api('GET', 'namespaces');
  // A tree by the names' parts.
  const root = {kids: new Map()};
  for (const ns of data.items) {
    let n = root;
    for (const part of ns.split('/')) {
      if (!n.kids.has(part)) n.kids.set(part, {kids: new Map()});
      n = n.kids.get(part);
    }
    n.ns = ns;
  }
  const list = (n, prefix) => el('ul', {class: prefix ? '' : 'tree', role: prefix ? 'group' : 'tree', 'aria-label': prefix ? undefined : 'Namespaces'},
    [...n.kids].map(([name, k]) => el('li', {role: 'none'},
      k.ns ? el('a', {href: `#/ns/${enc(k.ns)}/classes`, role: 'treeitem'}, prefix + name) : el('span', {}, prefix + name),
      k.kids.size ? list(k, prefix + name + '/') : null)));
  show(el('h1', {}, 'Namespaces'), el('p', {class: 'hint'}, `${data.items.length} namespaces you may enter. Choose one to browse its classes.`), list(root, ''));
}

// ---------- class tree (the side bar) ----------

// The tree follows the WAI-ARIA tree pattern: one item is in the tab
// order; arrows move, Right opens, Left closes or goes to the parent,
// Enter shows the class.
async function loadTree() {
  state.treeNS = state.ns;
  const tree = el('ul', {class: 'tree', role: 'tree', 'aria-label': 'Classes of ' + state.ns});
  side.replaceChildren(el('h2', {}, state.ns), tree);
  tree.addEventListener('keydown', treeKeys);
  try {
    await fillBranch(tree, '');
    const first = tree.querySelector('[role="treeitem"]');
    if (first) first.tabIndex = 0;
  } catch (e) {
    side.append(el('p', {class: 'hint'}, `No classes to show (${e.name}).`));
  }
}

async function fillBranch(ul, superclass) {
  const {data} = await api('GET', `${nsPath()}/classes?superclass=${enc(superclass)}`);
  const items = data.items.sort((a, b) => a.name.localeCompare(b.name));
  ul.replaceChildren(...items.map(c => treeItem(c)));
  if (!items.length && superclass) ul.closest('[role="treeitem"]')?.removeAttribute('aria-expanded');
}

function treeItem(c) {
  const li = el('li', {role: 'treeitem', 'aria-expanded': 'false', tabindex: '-1', 'data-class': c.name},
    el('span', {class: 'twisty', 'aria-hidden': 'true'}, '▸'),
    el('span', {class: 'label'}, c.name), c.abstract ? el('span', {class: 'badge'}, 'abstract') : null,
    c.association ? el('span', {class: 'badge'}, 'association') : null);
  li.addEventListener('click', ev => {
    ev.stopPropagation();
    if (ev.target.classList.contains('twisty')) toggle(li);
    else openClass(li);
  });
  return li;
}

async function toggle(li, open) {
  const expanded = li.getAttribute('aria-expanded');
  if (expanded === null) return;
  const want = open ?? expanded !== 'true';
  li.setAttribute('aria-expanded', String(want));
  li.querySelector('.twisty').textContent = want ? '▾' : '▸';
  let ul = li.querySelector(':scope > ul');
  if (want && !ul) {
    ul = el('ul', {role: 'group'});
    li.append(ul);
    await fillBranch(ul, li.dataset.class).catch(e => ul.replaceChildren(errorBox(e)));
    if (!ul.children.length) { ul.remove(); li.querySelector('.twisty').textContent = ' '; }
  }
  if (ul) ul.hidden = !want;
}

function openClass(li) {
  focusItem(li);
  for (const s of side.querySelectorAll('[aria-selected="true"]')) s.removeAttribute('aria-selected');
  li.setAttribute('aria-selected', 'true');
  location.hash = `#/ns/${enc(state.ns)}/class/${enc(li.dataset.class)}`;
}

function focusItem(li) {
  for (const t of side.querySelectorAll('[role="treeitem"][tabindex="0"]')) t.tabIndex = -1;
  li.tabIndex = 0;
  li.focus();
}

function visibleItems() {
  return [...side.querySelectorAll('[role="treeitem"]')].filter(li => !li.closest('ul[hidden]'));
}

function treeKeys(ev) {
  const li = ev.target.closest('[role="treeitem"]');
  if (!li) return;
  const items = visibleItems();
  const i = items.indexOf(li);
  switch (ev.key) {
    case 'ArrowDown': if (items[i + 1]) focusItem(items[i + 1]); break;
    case 'ArrowUp': if (items[i - 1]) focusItem(items[i - 1]); break;
    case 'Home': focusItem(items[0]); break;
    case 'End': focusItem(items[items.length - 1]); break;
    case 'ArrowRight':
      if (li.getAttribute('aria-expanded') === 'false') toggle(li, true);
      else { const k = li.querySelector(':scope > ul > [role="treeitem"]'); if (k) focusItem(k); }
      break;
    case 'ArrowLeft':
      if (li.getAttribute('aria-expanded') === 'true') toggle(li, false);
      else { const p = li.parentElement.closest('[role="treeitem"]'); if (p) focusItem(p); }
      break;
    case 'Enter': case ' ': openClass(li); break;
    default: return;
  }
  ev.preventDefault();
}

// ---------- classes ----------

async function classHome() {
  loggedIn();
  show(el('h1', {}, `Classes of ${state.ns}`), el('p', {}, 'Loading…'));
  const {data} = await api('GET', `${nsPath()}/rights`);
  show(el('h1', {}, `Classes of ${state.ns}`),
    el('p', {}, 'Choose a class in the tree (arrow keys move in it, Enter opens a class).'),
    el('h2', {}, 'Your rights here'),
    el('p', {id: 'rights'}, `${data.user}${data.administrator ? ' (administrator)' : ''}: ${data.names.join(', ') || 'none'}`));
}

function qualText(q) {
  const v = q.Value === undefined ? q.value : q.Value;
  const name = q.Name || q.name;
  return v === true || v === undefined ? name : `${name}(${JSON.stringify(v)})`;
}

function qualList(qs) {
  return (qs || []).map(qualText).join(', ');
}

async function classView(name) {
  loggedIn();
  show(el('h1', {}, name), el('p', {}, 'Loading…'));
  const [{data}, mof] = await Promise.all([
    api('GET', `${nsPath()}/classes/${enc(name)}`),
    api('GET', `${nsPath()}/classes/${enc(name)}?format=mof`, {text: true}).then(r => r.data).catch(e => e.message)]);
  const c = data.class;
  const chain = [c.__CLASS, ...data.derivation];
  const crumbs = el('nav', {'aria-label': 'Inheritance'}, el('span', {class: 'hint'}, 'Inheritance: '),
    ...chain.slice().reverse().flatMap((n, i) => [i ? ' → ' : '', n === c.__CLASS ? el('strong', {}, n) : el('a', {href: `#/ns/${enc(state.ns)}/class/${enc(n)}`}, n)]));
  const abstract = (c.Qualifiers || []).some(q => /^abstract$/i.test(q.Name || q.name) && (q.Value ?? q.value) !== false);
  const props = el('div', {class: 'table-wrap'}, el('table', {}, el('thead', {}, el('tr', {}, ['Property', 'Type', 'From', 'Qualifiers', 'Default'].map(h => el('th', {scope: 'col'}, h)))),
    el('tbody', {}, (c.Properties || []).map(p => el('tr', {},
      el('td', {}, el('code', {}, p.Name)), el('td', {}, p.Type), el('td', {}, p.Origin && p.Origin !== c.__CLASS ? p.Origin : 'this class'),
      el('td', {}, qualList(p.Qualifiers)), el('td', {}, p.Default === undefined ? '' : JSON.stringify(p.Default)))))));
  const methods = el('div', {class: 'table-wrap'}, el('table', {}, el('thead', {}, el('tr', {}, ['Method', 'Returns', 'Parameters', 'Qualifiers'].map(h => el('th', {scope: 'col'}, h)))),
    el('tbody', {}, (c.Methods || []).map(m => el('tr', {}, el('td', {}, el('code', {}, m.Name)), el('td', {}, m.Type),
      el('td', {}, (m.Parameters || []).map(p => `${qualList(p.Qualifiers) ? '[' + qualList(p.Qualifiers) + '] ' : ''}${p.Type} ${p.Name}`).join('; ')),
      el('td', {}, qualList(m.Qualifiers)))))));
  const quals = el('div', {class: 'table-wrap'}, el('table', {}, el('thead', {}, el('tr', {}, el('th', {scope: 'col'}, 'Qualifier'), el('th', {scope: 'col'}, 'Value'))),
    el('tbody', {}, (c.Qualifiers || []).map(q => el('tr', {}, el('td', {}, q.Name || q.name), el('td', {}, JSON.stringify(q.Value ?? q.value)))))));
  const mofView = el('pre', {id: 'mof'}, mof);
  const panels = {Properties: props, Methods: methods, Qualifiers: quals, MOF: mofView};
  const box = el('div', {role: 'tabpanel', id: 'panel'});
  const tabs = el('div', {class: 'tabs', role: 'tablist', 'aria-label': 'Class parts'});
  const pick = (name, focus) => {
    for (const t of tabs.children) {
      const on = t.dataset.tab === name;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
      if (on && focus) t.focus();
    }
    box.replaceChildren(panels[name]);
  };
  for (const n of Object.keys(panels)) {
    tabs.append(el('button', {role: 'tab', type: 'button', 'data-tab': n, 'aria-controls': 'panel', onclick: () => pick(n)}, n));
  }
  tabs.addEventListener('keydown', ev => {
    const names = Object.keys(panels);
    const i = names.indexOf(ev.target.dataset.tab);
    if (ev.key === 'ArrowRight') pick(names[(i + 1) % names.length], true);
    else if (ev.key === 'ArrowLeft') pick(names[(i + names.length - 1) % names.length], true);
  });
  pick('Properties');
  show(el('h1', {}, c.__CLASS, abstract ? el('span', {class: 'badge'}, 'abstract') : null), crumbs,
    el('div', {class: 'toolbar'},
      el('a', {class: 'button', href: `#/ns/${enc(state.ns)}/class/${enc(c.__CLASS)}/instances`, id: 'instances'}, 'Instances'),
      abstract ? null : el('a', {class: 'button', href: `#/ns/${enc(state.ns)}/class/${enc(c.__CLASS)}/new`, id: 'new'}, 'New instance')),
    qualList(c.Qualifiers) ? el('p', {class: 'hint'}, 'Qualifiers: ' + qualList(c.Qualifiers)) : null,
    tabs, box);
}

// ---------- values ----------

const INT_RANGE = {
  sint8: [-128n, 127n], uint8: [0n, 255n], sint16: [-32768n, 32767n], uint16: [0n, 65535n],
  sint32: [-2147483648n, 2147483647n], uint32: [0n, 4294967295n],
  sint64: [-9223372036854775808n, 9223372036854775807n], uint64: [0n, 18446744073709551615n],
};

function isKey(p) {
  return (p.Qualifiers || []).some(q => /^key$/i.test(q.Name || q.name) && (q.Value ?? q.value) !== false);
}

function baseType(t) {
  return t.replace(/\[\]$/, '').replace(/^ref:.*/, 'reference').replace(/^object:.*/, 'object');
}

// checkValue converts the text of a form field to the JSON value of a
// property of type t, or throws a WBEM_E_TYPE_MISMATCH in words.
function checkValue(name, t, text) {
  const bad = why => { throw Object.assign(new WbemError(0, {name: 'WBEM_E_TYPE_MISMATCH', message: `${name}: ${why}`, extended: {parameterInfo: name}}), {field: name}); };
  if (t.endsWith('[]')) {
    let a;
    try { a = JSON.parse(text); } catch { bad(`${JSON.stringify(text)} is not an array: write a JSON array such as [1, 2] or ["a", "b"]`); }
    if (!Array.isArray(a)) bad('an array is written as a JSON array such as [1, 2]');
    return a.map((v, i) => checkValue(`${name}[${i}]`, t.slice(0, -2), typeof v === 'string' ? v : JSON.stringify(v)));
  }
  const b = baseType(t);
  if (INT_RANGE[b]) {
    const [lo, hi] = INT_RANGE[b];
    if (!/^[+-]?\d+$/.test(text.trim())) bad(`${JSON.stringify(text)} is not a ${b}: a whole number from ${lo} to ${hi} is expected`);
    const n = BigInt(text.trim());
    if (n < lo || n > hi) bad(`${text} is out of the range of a ${b} (${lo} to ${hi})`);
    return b.endsWith('64') ? n.toString() : Number(n);
  }
  switch (b) {
    case 'real32': case 'real64': {
      const x = Number(text);
      if (text.trim() === '' || !Number.isFinite(x)) bad(`${JSON.stringify(text)} is not a ${b} (a number such as 1.5)`);
      return x;
    }
    case 'boolean':
      if (text !== 'true' && text !== 'false') bad(`${JSON.stringify(text)} is not a boolean (true or false)`);
      return text === 'true';
    case 'char16':
      if ([...text].length !== 1) bad('a char16 is one character');
      return text;
    case 'datetime':
      if (!/^\d{14}\.\d{6}[+-]\d{3}$/.test(text) && !/^\d{8}\d{6}\.\d{6}:000$/.test(text))
        bad(`${JSON.stringify(text)} is not a CIM datetime (yyyymmddHHMMSS.mmmmmm+UUU, or ddddddddHHMMSS.mmmmmm:000 for an interval)`);
      return text;
    case 'object':
      try { return JSON.parse(text); } catch { bad('an embedded object is written as a JSON object with __CLASS'); }
      break;
    default:
      return text;
  }
}

function showValue(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

// ---------- instances ----------

async function instancesView(cls) {
  loggedIn();
  show(el('h1', {}, `Instances of ${cls}`), el('p', {}, 'Loading…'));
  const {data: cd} = await api('GET', `${nsPath()}/classes/${enc(cls)}`);
  const c = cd.class;
  const props = [...c.Properties].sort((a, b) => isKey(b) - isKey(a));
  const view = {cursors: [''], at: 0, limit: Number(sessionStorage.getItem('wbemd.limit') || 50), rows: [], sort: null, desc: false, filter: ''};
  const err = el('div');
  const info = el('span', {class: 'hint', id: 'pageinfo'});
  const filter = el('input', {type: 'search', id: 'filter', placeholder: 'Filter this page', 'aria-label': 'Filter the rows of this page',
    oninput: () => { view.filter = filter.value.toLowerCase(); render(); }});
  const prev = el('button', {type: 'button', id: 'prev', onclick: () => { view.at--; load(); }}, '← Previous');
  const next = el('button', {type: 'button', id: 'next', onclick: () => { view.at++; load(); }}, 'Next →');
  const size = el('select', {id: 'pagesize', 'aria-label': 'Rows per page', onchange: () => {
    view.limit = Number(size.value); sessionStorage.setItem('wbemd.limit', size.value); view.cursors = ['']; view.at = 0; load();
  }}, [25, 50, 100, 500].map(n => el('option', {value: n, selected: n === view.limit}, `${n} per page`)));
  // A class with one key can be read from a position: the page after a
  // key value, without paging there.
  const keys = props.filter(isKey);
  const jump = keys.length === 1 ? el('form', {class: 'toolbar', id: 'jump', onsubmit: ev => {
    ev.preventDefault();
    const v = jumpInput.value;
    const lit = INT_RANGE[baseType(keys[0].Type)] ? v : JSON.stringify(v);
    view.cursors = ['', v === '' ? '' : `${cls}.${keys[0].Name}=${lit}`];
    view.at = v === '' ? 0 : 1;
    load();
  }}) : null;
  const jumpInput = el('input', {id: 'after', type: 'search', 'aria-label': `Start after this ${keys[0]?.Name ?? 'key'}`, placeholder: `Start after ${keys[0]?.Name ?? 'key'}…`});
  if (jump) jump.append(jumpInput, el('button', {type: 'submit'}, 'Go'));
  const thead = el('thead');
  const tbody = el('tbody');
  const table = el('table', {id: 'instances-table'}, el('caption', {class: 'sr-only'}, `Instances of ${cls}`), thead, tbody);
  const numeric = p => INT_RANGE[baseType(p.Type)] || /^real/.test(p.Type);

  function header() {
    thead.replaceChildren(el('tr', {}, props.map(p => el('th', {scope: 'col', 'aria-sort': view.sort === p.Name ? (view.desc ? 'descending' : 'ascending') : 'none'},
      el('button', {type: 'button', title: `Sort by ${p.Name}`, onclick: () => {
        view.desc = view.sort === p.Name ? !view.desc : false; view.sort = p.Name; render();
      }}, p.Name, isKey(p) ? el('span', {class: 'badge'}, 'key') : '', view.sort === p.Name ? (view.desc ? ' ▼' : ' ▲') : ''))),
    el('th', {scope: 'col'}, 'Actions')));
  }

  function render() {
    header();
    let rows = view.rows;
    if (view.filter) rows = rows.filter(r => props.some(p => showValue(r[p.Name]).toLowerCase().includes(view.filter)));
    if (view.sort) {
      const p = props.find(p => p.Name === view.sort);
      const num = numeric(p);
      rows = [...rows].sort((a, b) => {
        const x = a[p.Name], y = b[p.Name];
        if (x === null || x === undefined) return 1;
        if (y === null || y === undefined) return -1;
        const d = num ? Number(x) - Number(y) : showValue(x).localeCompare(showValue(y));
        return view.desc ? -d : d;
      });
    }
    tbody.replaceChildren(...rows.map(r => {
      const path = r.__RELPATH;
      const del = el('button', {type: 'button', class: 'danger', 'data-path': path, onclick: async () => {
        if (del.dataset.armed !== 'yes') { del.dataset.armed = 'yes'; del.textContent = 'Confirm delete'; del.focus(); return; }
        try {
          await api('DELETE', `${nsPath()}/instances/${enc(path)}`, {ifMatch: r.__VERSION ? `"${r.__VERSION}"` : undefined});
          announce(`Deleted ${path}`);
          err.replaceChildren(el('p', {class: 'ok', role: 'status'}, `Deleted ${path}.`));
          load();
        } catch (e) { err.replaceChildren(errorBox(e)); }
      }}, 'Delete');
      return el('tr', {'data-path': path}, props.map(p => el('td', {class: numeric(p) ? 'num' : ''}, showValue(r[p.Name]))),
        el('td', {class: 'actions'}, el('a', {href: `#/ns/${enc(state.ns)}/edit/${enc(path)}`}, 'Edit'), ' ', del));
    }));
    const shown = rows.length !== view.rows.length ? `${rows.length} of ${view.rows.length} rows shown` : `${view.rows.length} rows`;
    info.textContent = `Page ${view.at + 1} · ${shown}`;
    prev.disabled = view.at === 0;
    next.disabled = view.cursors[view.at + 1] === undefined;
  }

  async function load() {
    const after = view.cursors[view.at];
    try {
      const {data} = await api('GET', `${nsPath()}/classes/${enc(cls)}/instances?limit=${view.limit}${after ? '&after=' + enc(after) : ''}`);
      view.rows = data.items;
      view.cursors.length = view.at + 1;
      if (data.next) view.cursors.push(data.next);
      render();
    } catch (e) { err.replaceChildren(errorBox(e)); }
  }

  show(el('h1', {}, `Instances of ${cls}`),
    el('div', {class: 'toolbar'},
      el('a', {class: 'button', href: `#/ns/${enc(state.ns)}/class/${enc(cls)}/new`, id: 'new'}, 'New instance'),
      el('a', {class: 'button', href: `#/ns/${enc(state.ns)}/class/${enc(cls)}`}, 'Class definition'),
      filter, size),
    jump,
    el('p', {class: 'hint'}, 'Pages follow the key order of the repository; sorting and filtering apply to the page shown.'),
    err,
    el('div', {class: 'table-wrap'}, table),
    el('div', {class: 'toolbar'}, prev, next, info));
  await load();
}

// ---------- the instance editor ----------

async function editorView(cls, path) {
  loggedIn();
  show(el('h1', {}, path ? `Edit ${path}` : `New ${cls}`), el('p', {}, 'Loading…'));
  let inst = null, etag = null;
  if (path) {
    const r = await api('GET', `${nsPath()}/instances/${enc(path)}`);
    inst = r.data;
    etag = r.headers.get('ETag');
    cls = inst.__CLASS;
  }
  const {data: cd} = await api('GET', `${nsPath()}/classes/${enc(cls)}`);
  const props = [...cd.class.Properties].sort((a, b) => isKey(b) - isKey(a));
  const err = el('div', {id: 'editor-error'});
  const fields = props.map(p => {
    const id = 'f-' + p.Name;
    const key = isKey(p);
    const t = p.Type;
    const v = inst ? inst[p.Name] : p.Default;
    let input;
    if (t === 'boolean') {
      input = el('select', {id, name: p.Name}, el('option', {value: ''}, '(NULL)'),
        el('option', {value: 'true', selected: v === true}, 'true'), el('option', {value: 'false', selected: v === false}, 'false'));
    } else if (t.endsWith('[]') || t.startsWith('object')) {
      input = el('textarea', {id, name: p.Name, rows: 2});
      input.value = v === null || v === undefined ? '' : JSON.stringify(v);
    } else {
      input = el('input', {id, name: p.Name, inputmode: INT_RANGE[baseType(t)] ? 'numeric' : undefined});
      input.value = showValue(v);
    }
    if (key && path) input.readOnly = true;
    const desc = (p.Qualifiers || []).find(q => /^description$/i.test(q.Name || q.name));
    return {p, key, input, row: el('div', {},
      el('label', {for: id}, p.Name, ' ', el('span', {class: 'hint'}, t, key ? ' · key' : '', key && path ? ' (read-only)' : '')),
      input, desc ? el('div', {class: 'hint'}, String(desc.Value ?? desc.value).slice(0, 200)) : null)};
  });
  const form = el('form', {id: 'editor', novalidate: true, onsubmit: async ev => {
    ev.preventDefault();
    for (const f of fields) f.input.removeAttribute('aria-invalid');
    const body = {__CLASS: cls};
    try {
      for (const f of fields) {
        const text = f.input.value;
        if (text === '') {
          if (f.key) throw Object.assign(new WbemError(0, {name: 'WBEM_E_ILLEGAL_NULL', message: `${f.p.Name}: a key needs a value`, extended: {parameterInfo: f.p.Name}}), {field: f.p.Name});
          body[f.p.Name] = null;
        } else {
          body[f.p.Name] = checkValue(f.p.Name, f.p.Type, text);
        }
      }
    } catch (e) {
      err.replaceChildren(errorBox(e));
      const f = fields.find(f => f.p.Name === (e.field || '').replace(/\[.*$/, ''));
      if (f) { f.input.setAttribute('aria-invalid', 'true'); f.input.focus(); }
      return;
    }
    try {
      if (path) {
        await api('PUT', `${nsPath()}/instances/${enc(path)}?mode=update`, {body, ifMatch: etag});
        announce(`Saved ${path}`);
      } else {
        await api('POST', `${nsPath()}/classes/${enc(cls)}/instances`, {body});
        announce(`Created an instance of ${cls}`);
      }
      location.hash = `#/ns/${enc(state.ns)}/class/${enc(cls)}/instances`;
    } catch (e) {
      err.replaceChildren(errorBox(e));
    }
  }},
  fields.map(f => f.row),
  el('p', {class: 'hint'}, 'An empty field is NULL. Arrays are JSON arrays, such as [1, 2]. Values are checked against the property types before anything is sent.'),
  el('div', {class: 'toolbar'}, el('button', {class: 'primary', type: 'submit', id: 'save'}, path ? 'Save' : 'Create'),
    el('a', {class: 'button', href: `#/ns/${enc(state.ns)}/class/${enc(cls)}/instances`}, 'Cancel'),
    etag ? el('span', {class: 'hint'}, `version ${etag}`) : null));
  show(el('h1', {}, path ? `Edit ${path}` : `New ${cls}`), err, form);
  (fields.find(f => !f.input.readOnly)?.input)?.focus();
}

// ---------- WQL ----------

function resultTable(items) {
  const cols = [];
  for (const it of items) for (const k of Object.keys(it)) if (!k.startsWith('__') && !cols.includes(k)) cols.push(k);
  return el('div', {class: 'table-wrap'}, el('table', {id: 'results'},
    el('thead', {}, el('tr', {}, el('th', {scope: 'col'}, 'Path'), cols.map(c => el('th', {scope: 'col'}, c)))),
    el('tbody', {}, items.map(it => el('tr', {}, el('td', {}, it.__RELPATH || it.__CLASS), cols.map(c => el('td', {}, showValue(it[c]))))))));
}

function queryView() {
  loggedIn();
  const q = el('textarea', {id: 'wql', rows: 4, 'aria-label': 'WQL query', spellcheck: 'false'});
  q.value = sessionStorage.getItem('wbemd.wql') || 'SELECT * FROM __Namespace';
  const limit = el('select', {id: 'limit', 'aria-label': 'Results at most'}, [50, 200, 1000].map(n => el('option', {value: n}, `at most ${n}`)));
  const out = el('div', {id: 'query-out'});
  const run = async explain => {
    sessionStorage.setItem('wbemd.wql', q.value);
    out.replaceChildren(el('p', {}, 'Running…'));
    try {
      const {data} = await api('GET', `${nsPath()}/query?limit=${limit.value}&q=${enc(q.value)}${explain ? '&explain=true' : ''}`);
      out.replaceChildren(el('h2', {}, 'Plan'), el('pre', {id: 'plan'}, data.plan || '(no plan: not a data query)'),
        explain ? null : el('h2', {}, `Results (${data.items.length}${data.truncated ? ', more not shown' : ''})`),
        explain ? null : resultTable(data.items));
    } catch (e) { out.replaceChildren(errorBox(e)); }
  };
  q.addEventListener('keydown', ev => { if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); run(false); } });
  show(el('h1', {}, `WQL query in ${state.ns}`), q,
    el('div', {class: 'toolbar'}, el('button', {class: 'primary', type: 'button', id: 'run', onclick: () => run(false)}, 'Run (Ctrl+Enter)'),
      el('button', {type: 'button', id: 'explain', onclick: () => run(true)}, 'Explain'), limit),
    out);
  q.focus();
}

// ---------- live events ----------

// The event stream is GET /api/v1/events?namespace=&query= as
// Server-Sent Events (id: <rev>.<idx>, event: <class> / progress /
// error, data: the event object). It is read with fetch so that the
// Authorization header goes with it, and resumed with Last-Event-ID.
// The watch goes on while the rest of the console is used (its elements
// are kept and put back on the page when the view is shown again); the
// header says when it is on.
const live = {
  ctl: null,
  lastId: '',
  list: el('ul', {class: 'events', id: 'events', 'aria-live': 'polite'}),
  state: el('p', {class: 'hint', id: 'event-state'}, 'Not watching.'),
  err: el('div'),
  query: el('input', {id: 'event-query', size: 60, 'aria-label': 'Event query',
    value: sessionStorage.getItem('wbemd.evq') || 'SELECT * FROM __InstanceOperationEvent WHERE TargetInstance ISA "CIM_ManagedElement"'}),
  ns: '',
};

function stopEvents(text = 'Stopped.') {
  if (live.ctl) { live.ctl.abort(); live.ctl = null; }
  live.state.textContent = text;
  document.getElementById('live-flag')?.remove();
}

async function startEvents() {
  stopEvents('Connecting…');
  sessionStorage.setItem('wbemd.evq', live.query.value);
  const ctl = new AbortController();
  live.ctl = ctl;
  live.ns = state.ns;
  live.lastId = '';
  live.err.replaceChildren();
  who.prepend(liveFlag());
  while (live.ctl === ctl) {
    try {
      await readStream(ctl, live.ns, live.query.value, live.lastId, ev => {
        if (ev.id) live.lastId = ev.id;
        if (ev.event === 'progress') {
          let r = ev.id;
          try { r = JSON.parse(ev.data).revision ?? r; } catch { /* the id says it */ }
          live.state.textContent = `Watching ${live.ns}; up to date at revision ${r}.`;
          return;
        }
        if (ev.event === 'error') {
          let b = {};
          try { b = JSON.parse(ev.data); } catch { b = {message: ev.data}; }
          live.err.replaceChildren(errorBox(b));
          return;
        }
        let o = {};
        try { o = JSON.parse(ev.data); } catch { o = {}; }
        const target = o.TargetInstance || o.TargetClass || o.TargetNamespace || {};
        const props = Object.entries(target).filter(([k]) => !k.startsWith('__'));
        live.list.prepend(el('li', {'data-event': ev.event},
          el('strong', {}, ev.event), ' ', el('code', {}, target.__RELPATH || target.__CLASS || ''),
          el('span', {class: 'hint'}, ` · ${ev.id}`),
          el('div', {class: 'hint'}, props.map(([k, v]) => `${k}=${showValue(v)}`).join(' '))));
        while (live.list.children.length > 500) live.list.lastChild.remove();
      }, text => { live.state.textContent = text; });
    } catch (e) {
      if (live.ctl !== ctl) return;
      if (e.status) {
        live.err.replaceChildren(errorBox(e.status === 404 && !e.code ? {name: e.name, message: 'This server has no event stream (/api/v1/events).'} : e));
        stopEvents('Stopped.');
        return;
      }
      live.state.textContent = 'Disconnected; resuming…';
    }
    await new Promise(r => setTimeout(r, 1500));
  }
}

function liveFlag() {
  return el('a', {id: 'live-flag', href: `#/ns/${enc(live.ns)}/events`, title: 'Watching events'}, '● live');
}

function eventsView() {
  loggedIn();
  show(el('h1', {}, `Live events in ${state.ns}`),
    el('p', {class: 'hint'}, 'The watch goes on while you use the rest of the console; ● live in the header leads back here.'),
    el('div', {class: 'toolbar'}, live.query,
      el('button', {class: 'primary', type: 'button', id: 'watch', onclick: startEvents}, 'Watch'),
      el('button', {type: 'button', id: 'stop', onclick: () => stopEvents()}, 'Stop'),
      el('button', {type: 'button', onclick: () => live.list.replaceChildren()}, 'Clear')),
    live.state, live.err, live.list);
}

async function readStream(ctl, ns, query, lastId, onEvent, onState) {
  const headers = {'X-WBEM-Client': 'console', 'Accept': 'text/event-stream', 'Authorization': authHeader()};
  if (lastId) headers['Last-Event-ID'] = lastId;
  const rsp = await fetch(`${API}events?namespace=${enc(ns)}&query=${enc(query)}`, {headers, signal: ctl.signal});
  if (!rsp.ok) {
    let b = {};
    try { b = await rsp.json(); } catch { b = {}; }
    throw new WbemError(rsp.status, b);
  }
  onState(`Watching ${ns}.`);
  const reader = rsp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  let ev = {data: []};
  for (;;) {
    const {value, done} = await reader.read();
    if (done) throw new Error('stream ended');
    buf += value;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).replace(/\r$/, '');
      buf = buf.slice(nl + 1);
      if (line === '') {
        if (ev.data.length || ev.event) onEvent({id: ev.id, event: ev.event || 'message', data: ev.data.join('\n')});
        ev = {data: []};
        continue;
      }
      if (line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      const val = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (field === 'data') ev.data.push(val);
      else if (field === 'id') ev.id = val;
      else if (field === 'event') ev.event = val;
    }
  }
}

// ---------- providers ----------

async function providersView() {
  loggedIn();
  side.hidden = true;
  show(el('h1', {}, 'Providers'), el('p', {}, 'Loading…'));
  const {data} = await api('GET', 'providers');
  show(el('h1', {}, 'Providers'),
    el('p', {class: 'hint'}, 'The out-of-process providers this server runs, with their state (WBEMD_Provider in root).'),
    data.items.length ? resultTable(data.items) : el('p', {id: 'no-providers'}, 'No provider is registered.'));
}

window.addEventListener('hashchange', route);
route();
