// cloudtower-mock dashboard: plain JS over the admin API (/_mock/) and the contract.
// Everything shown here comes from documented admin endpoints, so a script can get it too.
'use strict';

const PAGE = 50;
const KEY_TYPES = ['Datacenter', 'Cluster', 'Host', 'Vm', 'VmDisk', 'VmVolume', 'IscsiLun', 'VmNic', 'VmSnapshot',
  'IscsiLunSnapshot', 'VmTemplate', 'Task', 'User'];
const POLL_MS = 1000;
const app = {
  ns: localStorage.getItem('ctm.ns') || 'default',
  token: sessionStorage.getItem('ctm.token') || '',
  status: null,
  view: null,
  operations: null,
};

// ------------------------------------------------------------------ helpers
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
const $ = (sel, el = document) => el.querySelector(sel);
const fmtBytes = (n) => {
  if (typeof n !== 'number') return '';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(n >= 10 || i === 0 ? 0 : 1)} ${u[i]}`;
};
const fmtSecs = (s) => (s === null || s === undefined) ? '' : s < 60 ? `${s.toFixed(1)} s`
  : s < 3600 ? `${Math.floor(s / 60)} m ${Math.round(s % 60)} s` : `${(s / 3600).toFixed(1)} h`;
const badge = (text) => text ? h('span', { class: `badge ${text}` }, text) : '';
const link = (type, id, label) => h('a', { href: `#/r/${type}/${encodeURIComponent(id)}`, dataset: { type } }, label || id);
const qs = (params) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : '';
};

function flash(message, isError) {
  const el = $('#flash');
  el.textContent = message;
  el.className = isError ? 'flash error' : 'flash';
  el.hidden = false;
  clearTimeout(flash.t);
  flash.t = setTimeout(() => { el.hidden = true; }, isError ? 7000 : 3000);
}

// --------------------------------------------------------------------- API
async function api(method, path, body, extraHeaders) {
  const headers = Object.assign({}, extraHeaders || {});
  if (app.token) headers['X-Mock-Admin-Token'] = app.token;
  let payload;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await fetch(`/_mock${path}`, { method, headers, body: payload, cache: 'no-store' });
  if (res.status === 401) {
    await askToken(app.token ? 'That token was refused.' : '');
    return api(method, path, body, extraHeaders);
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = text; }
  if (!res.ok) {
    const err = new Error((data && data.message) || `${res.status} ${res.statusText}`);
    err.status = res.status;
    throw err;
  }
  return data;
}
const nsq = (extra) => qs(Object.assign({ namespace: app.ns }, extra || {}));
const nsHeader = () => ({ 'X-Mock-Namespace': app.ns });

let tokenWaiters = null;
function askToken(message) {
  if (tokenWaiters) return new Promise((r) => tokenWaiters.push(r));
  tokenWaiters = [];
  const dlg = $('#token-dialog');
  $('#token-error').textContent = message || '';
  $('#token-input').value = '';
  if (!dlg.open) dlg.showModal();
  return new Promise((resolve) => {
    tokenWaiters.push(resolve);
    $('#token-form').onsubmit = () => {
      app.token = $('#token-input').value.trim();
      sessionStorage.setItem('ctm.token', app.token);
      const waiting = tokenWaiters;
      tokenWaiters = null;
      waiting.forEach((r) => r());
    };
  });
}

// ------------------------------------------------------------------ router
const routes = {
  inventory: viewInventory,
  r: viewResource,
  tasks: viewTasks,
  journal: viewJournal,
  control: viewControl,
  console: viewConsole,
};

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '') || 'inventory';
  const [path, query] = raw.split('?');
  const parts = path.split('/').map(decodeURIComponent);
  return { name: parts[0], args: parts.slice(1), params: Object.fromEntries(new URLSearchParams(query || '')) };
}

function setHashParams(params) {
  const { name, args } = parseHash();
  const path = [name, ...args.map(encodeURIComponent)].join('/');
  history.replaceState(null, '', `#/${path}${qs(params)}`);
}

async function route() {
  const { name, args, params } = parseHash();
  const fn = routes[name] || viewInventory;
  document.querySelectorAll('header nav a').forEach((a) => {
    const tab = a.dataset.tab;
    a.classList.toggle('active', tab === name || (tab === 'inventory' && (name === 'r' || name === 'console')));
  });
  const main = $('#view');
  main.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  const view = { onStatus: null, alive: true };
  if (app.view) app.view.alive = false;
  app.view = view;
  try {
    await fn(main, view, args, params);
  } catch (e) {
    main.replaceChildren(h('div', { class: 'panel' }, h('h2', {}, 'Cannot show this page'),
      h('p', { class: 'error' }, e.message)));
  }
}

// ------------------------------------------------------------ live status
async function poll() {
  try {
    const st = await api('GET', '/status');
    const prev = app.status;
    app.status = st;
    $('#live').className = 'live';
    $('#live').textContent = st.clock.paused ? 'live · clock paused' : 'live';
    $('#clock').textContent = st.clock.iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
    renderNamespaces(st);
    if (app.view && app.view.onStatus) app.view.onStatus(st, prev);
  } catch (e) {
    $('#live').className = 'live off';
    $('#live').textContent = 'offline';
  }
  setTimeout(poll, POLL_MS);
}

function renderNamespaces(st) {
  const sel = $('#ns-select');
  const names = Object.keys(st.namespaces);
  if (!names.includes('default')) names.unshift('default');
  if (!names.includes(app.ns)) names.push(app.ns);
  const want = names.join('|');
  if (sel.dataset.names !== want) {
    sel.replaceChildren(...names.map((n) => h('option', { value: n }, n)));
    sel.dataset.names = want;
  }
  sel.value = app.ns;
}

function setNamespace(ns) {
  app.ns = ns;
  localStorage.setItem('ctm.ns', ns);
  route();
}

const revisionOf = (st) => (st && st.namespaces[app.ns] ? st.namespaces[app.ns].revision : null);
const changed = (st, prev) => !prev || revisionOf(st) !== revisionOf(prev);

// --------------------------------------------------------------- inventory
async function viewInventory(main, view, args, params) {
  const s = { type: params.type || 'Vm', q: params.q || '', host: params.host || '', cluster: params.cluster || '',
    skip: parseInt(params.skip || '0', 10) || 0, filterLabel: params.label || '' };
  const counts = h('div', { class: 'counts', id: 'counts' });
  const tree = h('div', { class: 'tree', id: 'tree' });
  const search = h('input', { type: 'search', id: 'search', placeholder: 'Search by name or id', value: s.q });
  const title = h('h2', { id: 'list-title' });
  const filter = h('span', { class: 'small muted', id: 'filter' });
  const table = h('div', { id: 'records' });
  main.replaceChildren(
    h('div', { class: 'panel' }, h('h3', { style: 'margin-top:0' }, 'Records per resource type'), counts),
    h('div', { class: 'grid2' },
      h('div', { class: 'panel' }, h('h3', { style: 'margin-top:0' }, 'Datacenters → clusters → hosts'), tree),
      h('div', { class: 'panel' }, title, h('div', { class: 'toolbar' }, search, filter), table)));

  const save = () => setHashParams({ type: s.type === 'Vm' ? '' : s.type, q: s.q, host: s.host, cluster: s.cluster,
    label: s.filterLabel, skip: s.skip || '' });
  let timer = null;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => { s.q = search.value.trim(); s.skip = 0; save(); loadList(); }, 250);
  });

  async function loadTree() {
    const inv = await api('GET', `/inventory${nsq()}`);
    const chip = ([type, n]) => h('button', { class: `chip${type === s.type ? ' on' : ''}`, dataset: { type }, onclick: () => {
      s.type = type; s.skip = 0; s.host = s.cluster = s.filterLabel = ''; save(); loadTree(); loadList();
    } }, `${type} `, h('b', {}, n));
    const all = Object.entries(inv.counts);
    const key = KEY_TYPES.filter((t) => t in inv.counts).map((t) => [t, inv.counts[t]]);
    const wasOpen = counts.querySelector('details') && counts.querySelector('details').open;
    counts.replaceChildren(...key.map(chip), h('details', { class: 'all-types', open: wasOpen || (!KEY_TYPES.includes(s.type) && s.type in inv.counts) },
      h('summary', {}, `all ${all.length} resource types`), h('div', { class: 'counts' }, all.map(chip))));
    const node = (kind, item, onpick, on) => h('span', { class: `node${on ? ' on' : ''}`, onclick: onpick },
      h('span', { class: 'kind' }, kind), item.label, item.vms !== undefined ? h('span', { class: 'n' }, `${item.vms} VMs`) : '');
    const pick = (key, item) => () => {
      s.type = 'Vm'; s.skip = 0; s.host = key === 'host' ? item.id : ''; s.cluster = key === 'cluster' ? item.id : '';
      s.filterLabel = item.label; save(); loadTree(); loadList();
    };
    tree.replaceChildren(h('ul', {}, inv.tree.map((dc) => h('li', {},
      node('dc', dc, () => { s.host = s.cluster = s.filterLabel = ''; s.skip = 0; save(); loadTree(); loadList(); }, false),
      h('ul', {}, dc.clusters.map((c) => h('li', {}, node('cluster', c, pick('cluster', c), s.cluster === c.id),
        h('ul', {}, c.hosts.map((ho) => h('li', {}, node('host', ho, pick('host', ho), s.host === ho.id)))))))))));
    if (!inv.tree.length) tree.replaceChildren(h('p', { class: 'empty' }, 'No datacenters or clusters.'));
  }

  async function loadList() {
    const page = await api('GET', `/resources/${encodeURIComponent(s.type)}${nsq({
      q: s.q, host: s.host, cluster: s.cluster, skip: s.skip || '', first: PAGE })}`);
    if (!view.alive) return;
    title.textContent = s.type === 'Vm' ? 'Virtual machines' : s.type;
    filter.replaceChildren(s.filterLabel ? h('span', {}, `on ${s.filterLabel} `,
      h('a', { href: '#', onclick: (e) => { e.preventDefault(); s.host = s.cluster = s.filterLabel = ''; s.skip = 0; save(); loadTree(); loadList(); } }, '(all)')) : '');
    const isVm = s.type === 'Vm';
    const head = isVm ? ['Name', 'Status', 'vCPU', 'Memory', 'Host', 'Cluster', 'ID']
      : ['Name', 'Status', 'Details', 'ID'];
    const rows = page.items.map((it) => isVm
      ? h('tr', {}, h('td', {}, link('Vm', it.id, it.label)), h('td', {}, badge(it.status)),
        h('td', { class: 'num' }, it.vcpu ?? ''), h('td', { class: 'num' }, fmtBytes(it.memory)),
        h('td', {}, it.host ? link('Host', it.host.id, it.host.label) : ''),
        h('td', {}, it.cluster ? link('Cluster', it.cluster.id, it.cluster.label) : ''),
        h('td', { class: 'mono muted small' }, it.id))
      : h('tr', {}, h('td', {}, link(s.type, it.id, it.label)), h('td', {}, badge(it.status || it.entityAsyncStatus)),
        h('td', { class: 'small muted' }, summaryText(it)), h('td', { class: 'mono muted small' }, it.id)));
    table.replaceChildren(
      page.items.length ? h('table', { id: 'records-table' }, h('thead', {}, h('tr', {}, head.map((c) => h('th', {}, c)))),
        h('tbody', {}, rows)) : h('p', { class: 'empty' }, `No ${s.type} matches.`),
      pager(page, (skip) => { s.skip = skip; save(); loadList(); }));
    table.dataset.q = s.q;               // what the list shows now (tests wait on it)
  }

  await Promise.all([loadTree(), loadList()]);
  view.onStatus = (st, prev) => { if (changed(st, prev) && prev) { loadTree(); loadList(); } };
}

function summaryText(it) {
  const bits = [];
  for (const k of ['vcpu', 'memory', 'size', 'type', 'ip', 'management_ip', 'ip_address', 'mac_address', 'model', 'key', 'value', 'username']) {
    if (it[k] === undefined || it[k] === null || it[k] === '' || it[k] === it.label) continue;
    bits.push(`${k} ${k === 'memory' || k === 'size' ? fmtBytes(it[k]) : it[k]}`);
  }
  for (const k of ['vm', 'host', 'cluster']) if (it[k]) bits.push(`${k} ${it[k].label}`);
  return bits.join(' · ');
}

function pager(page, go) {
  const from = page.total ? page.skip + 1 : 0;
  const to = Math.min(page.skip + page.first, page.total);
  return h('div', { class: 'pager' }, h('span', { id: 'page-info' }, `${from}–${to} of ${page.total}`),
    h('button', { disabled: page.skip === 0, onclick: () => go(Math.max(0, page.skip - page.first)) }, '‹ Prev'),
    h('button', { disabled: to >= page.total, onclick: () => go(page.skip + page.first) }, 'Next ›'));
}

// ---------------------------------------------------------------- resource
async function viewResource(main, view, args) {
  const [type, id] = args;
  async function load() {
    const d = await api('GET', `/resources/${encodeURIComponent(type)}/${encodeURIComponent(id)}${nsq()}`);
    if (!view.alive) return;
    const rec = d.record;
    const head = h('div', {},
      h('div', { class: 'crumbs' }, h('a', { href: '#/inventory' }, 'Inventory'), ' › ',
        h('a', { href: `#/inventory?type=${type}` }, type), ' › ', d.label),
      h('h2', { id: 'resource-title' }, `${type} ${d.label} `, badge(rec.status || rec.entityAsyncStatus)));
    const parts = [head];
    if (type === 'Vm') parts.push(vmPanels(d));
    parts.push(h('div', { class: 'panel' }, h('h3', { style: 'margin-top:0' }, 'Fields'), fields(rec, d.relations)));
    main.replaceChildren(...parts);
  }
  await load();
  view.onStatus = (st, prev) => { if (prev && changed(st, prev)) load(); };
}

function vmPanels(d) {
  const rec = d.record;
  const t = d.tree;
  const stopped = rec.status === 'STOPPED';
  const actions = h('div', { class: 'row' },
    h('button', { class: 'primary', id: 'open-console', disabled: stopped,
      onclick: () => { location.hash = `#/console/${encodeURIComponent(rec.id)}`; } }, 'Open console'),
    stopped ? h('span', { class: 'muted small' }, 'The VM is stopped: start it to use its console.') : '',
    h('span', { class: 'muted small' }, `${rec.vcpu} vCPU · ${fmtBytes(rec.memory)} · `,
      rec.host ? link('Host', rec.host.id, rec.host.name) : '', ' · ',
      rec.cluster ? link('Cluster', rec.cluster.id, rec.cluster.name) : ''));
  const disks = t.disks.length ? h('table', { id: 'vm-disks' },
    h('thead', {}, h('tr', {}, ['Disk', 'Bus', 'Boot', 'Volume', 'Size', 'LUN'].map((c) => h('th', {}, c)))),
    h('tbody', {}, t.disks.map((x) => h('tr', {},
      h('td', {}, link('VmDisk', x.disk.id, `${x.disk.type === 'CD_ROM' ? 'CD-ROM' : 'Disk'} ${x.disk.boot ?? ''}`)), h('td', {}, x.disk.bus || ''),
      h('td', {}, x.disk.boot ?? ''),
      h('td', {}, x.volume ? link('VmVolume', x.volume.id, x.volume.label) : h('span', { class: 'muted' }, 'none (CD-ROM)')),
      h('td', { class: 'num' }, x.volume ? fmtBytes(x.volume.size) : ''),
      h('td', {}, x.lun ? link('IscsiLun', x.lun.id, x.lun.label) : ''))))) : h('p', { class: 'empty' }, 'No disks.');
  const nics = t.nics.length ? h('table', { id: 'vm-nics' },
    h('thead', {}, h('tr', {}, ['NIC', 'Details', 'ID'].map((c) => h('th', {}, c)))),
    h('tbody', {}, t.nics.map((n) => h('tr', {}, h('td', {}, link('VmNic', n.id, n.label)),
      h('td', { class: 'small muted' }, summaryText(n)), h('td', { class: 'mono small muted' }, n.id)))))
    : h('p', { class: 'empty' }, 'No NICs.');
  const snaps = t.snapshots.length ? h('table', { id: 'vm-snapshots' },
    h('thead', {}, h('tr', {}, ['Snapshot', 'Status', 'LUN snapshots'].map((c) => h('th', {}, c)))),
    h('tbody', {}, t.snapshots.map((s) => h('tr', {}, h('td', {}, link('VmSnapshot', s.snapshot.id, s.snapshot.label)),
      h('td', {}, badge(s.snapshot.entityAsyncStatus || s.snapshot.status)),
      h('td', {}, h('div', { class: 'chain' }, s.lun_snapshots.length
        ? s.lun_snapshots.map((l) => link('IscsiLunSnapshot', l.id, l.label)) : h('span', { class: 'muted' }, 'none')))))))
    : h('p', { class: 'empty' }, 'No snapshots.');
  return h('div', {}, h('div', { class: 'panel' }, actions),
    h('div', { class: 'panel' }, h('h3', { style: 'margin-top:0' }, 'Disks → volumes → LUNs'), disks),
    h('div', { class: 'panel' }, h('h3', { style: 'margin-top:0' }, 'NICs'), nics),
    h('div', { class: 'panel' }, h('h3', { style: 'margin-top:0' }, 'Snapshots → LUN snapshots'), snaps));
}

function fields(rec, relations) {
  const dl = h('dl', { class: 'kv' });
  for (const [k, v] of Object.entries(rec)) {
    let val;
    const target = relations[k];
    if (target && v && typeof v === 'object' && !Array.isArray(v) && v.id) val = link(target, v.id, v.name || v.id);
    else if (target && Array.isArray(v)) val = v.length ? h('span', { class: 'chain' }, v.map((x) => link(target, x.id, x.name || x.id))) : h('span', { class: 'muted' }, '[]');
    else if (v !== null && typeof v === 'object') val = h('code', {}, JSON.stringify(v));
    else if (v === null) val = h('span', { class: 'muted' }, 'null');
    else val = String(v);
    dl.append(h('dt', { title: k }, k), h('dd', {}, val));
  }
  return dl;
}

// ------------------------------------------------------------------- tasks
async function viewTasks(main, view, args, params) {
  const s = { status: params.status || '', skip: parseInt(params.skip || '0', 10) || 0 };
  const filters = h('div', { class: 'counts', id: 'task-filters' });
  const body = h('div', { id: 'tasks' });
  main.replaceChildren(h('div', { class: 'panel' }, h('h2', {}, 'Task center'), filters, h('div', { style: 'height:10px' }), body));
  async function load() {
    const page = await api('GET', `/tasks${nsq({ status: s.status, skip: s.skip || '', first: PAGE })}`);
    if (!view.alive) return;
    const total = Object.values(page.counts).reduce((a, b) => a + b, 0);
    const chip = (label, value, n) => h('button', { class: `chip${s.status === value ? ' on' : ''}`, dataset: { status: value || 'ALL' },
      onclick: () => { s.status = value; s.skip = 0; setHashParams({ status: s.status }); load(); } }, `${label} `, h('b', {}, n || 0));
    filters.replaceChildren(chip('All', '', total), ...['PENDING', 'EXECUTING', 'SUCCESSED', 'FAILED'].map((st) => chip(st, st, page.counts[st])));
    body.replaceChildren(page.items.length ? h('table', { id: 'tasks-table' },
      h('thead', {}, h('tr', {}, ['Task', 'Status', 'Progress', 'Duration', 'Error', 'Resource', 'Created'].map((c) => h('th', {}, c)))),
      h('tbody', {}, page.items.map((t) => h('tr', { dataset: { task: t.id } },
        h('td', {}, t.description), h('td', {}, badge(t.status)),
        h('td', { class: 'nowrap' }, h('span', { class: `progress ${t.status}` }, h('i', { style: `width:${Math.round((t.progress || 0) * 100)}%` })),
          ' ', h('span', { class: 'pct small' }, `${Math.round((t.progress || 0) * 100)}%`)),
        h('td', { class: 'num nowrap' }, fmtSecs(t.duration)),
        h('td', { class: 'error small' }, t.error_message || ''),
        h('td', {}, t.resource_type && t.resource_id ? link(t.resource_type, t.resource_id, `${t.resource_type}`) : ''),
        h('td', { class: 'small muted nowrap' }, (t.local_created_at || '').replace('T', ' ').replace(/\.\d+Z$/, 'Z'))))))
      : h('p', { class: 'empty' }, 'No tasks yet: mutations through the API create them.'),
    pager(page, (skip) => { s.skip = skip; load(); }));
  }
  await load();
  view.onStatus = (st, prev) => {
    const ns = st.namespaces[app.ns];
    if (prev && (changed(st, prev) || (ns && ns.running))) load();
  };
}

// ----------------------------------------------------------------- journal
async function viewJournal(main, view, args, params) {
  const s = { operation: params.operation || '', status: params.status || '', open: new Set() };
  const opInput = h('input', { type: 'text', id: 'journal-op', list: 'ops', placeholder: 'operation (e.g. get-vms)', value: s.operation });
  const stInput = h('input', { type: 'number', id: 'journal-status', placeholder: 'status', value: s.status, style: 'width:90px' });
  const ops = h('datalist', { id: 'ops' });
  const body = h('div', { id: 'journal' });
  main.replaceChildren(h('div', { class: 'panel' }, h('h2', {}, 'Request journal'),
    h('div', { class: 'toolbar' }, opInput, stInput, ops,
      h('button', { onclick: async () => { await api('DELETE', '/journal'); s.open.clear(); load(); } }, 'Clear journal'),
      h('span', { class: 'small muted' }, 'Click a request to see its bodies.')), body));
  loadOperations().then((names) => ops.replaceChildren(...names.map((n) => h('option', { value: n }))));
  let timer = null;
  const onFilter = () => { clearTimeout(timer); timer = setTimeout(() => {
    s.operation = opInput.value.trim(); s.status = stInput.value.trim();
    setHashParams({ operation: s.operation, status: s.status }); load();
  }, 250); };
  opInput.addEventListener('input', onFilter);
  stInput.addEventListener('input', onFilter);
  const details = new Map();

  async function load() {
    let data;
    try {
      data = await api('GET', `/journal${qs({ limit: 200, operation: s.operation, status: s.status })}`);
    } catch (e) { body.replaceChildren(h('p', { class: 'error' }, e.message)); return; }
    if (!view.alive) return;
    const entries = data.entries.slice().reverse();
    const rows = [];
    for (const e of entries) {
      rows.push(h('tr', { class: 'click', dataset: { seq: e.seq }, onclick: () => toggle(e.seq) },
        h('td', { class: 'num muted' }, e.seq), h('td', { class: 'small' }, new Date(e.time * 1000).toLocaleTimeString()),
        h('td', {}, e.operation), h('td', {}, badge(e.status === null ? 'dropped' : String(e.status))),
        h('td', { class: 'num' }, e.duration_ms !== null ? `${e.duration_ms.toFixed(1)} ms` : ''),
        h('td', { class: 'mono small muted' }, e.request_id || ''), h('td', { class: 'small' }, e.namespace),
        h('td', { class: 'error small' }, e.error || '')));
      if (s.open.has(e.seq)) rows.push(detailRow(e.seq));
    }
    body.replaceChildren(entries.length ? h('table', { id: 'journal-table' },
      h('thead', {}, h('tr', {}, ['#', 'Time', 'Operation', 'Status', 'Duration', 'Request id', 'Namespace', 'Error'].map((c) => h('th', {}, c)))),
      h('tbody', {}, rows)) : h('p', { class: 'empty' }, 'No API requests recorded (yet).'));
  }
  function detailRow(seq) {
    const cell = h('td', { colspan: 8 });
    const d = details.get(seq);
    if (d) cell.append(h('div', { class: 'small muted' }, 'Request body'), h('pre', { class: 'json req-body' }, typeof d.body === 'string' ? d.body : JSON.stringify(d.body ?? null, null, 2)),
      h('div', { class: 'small muted' }, d.response_cut ? `Response (first bytes of ${d.response_bytes})` : 'Response'),
      h('pre', { class: 'json resp-body' }, d.response_body === undefined ? '(no body)'
        : typeof d.response_body === 'string' ? d.response_body : JSON.stringify(d.response_body, null, 2)));
    else cell.append(h('span', { class: 'muted' }, 'Loading…'));
    return h('tr', { class: 'detail', dataset: { detail: seq } }, cell);
  }
  async function toggle(seq) {
    if (s.open.has(seq)) { s.open.delete(seq); load(); return; }
    s.open.add(seq);
    if (!details.has(seq)) {
      try { details.set(seq, await api('GET', `/journal/${seq}`)); } catch (e) { flash(e.message, true); }
    }
    load();
  }
  await load();
  view.onStatus = (st, prev) => { if (prev && st.journal.last !== prev.journal.last) load(); };
}

async function loadOperations() {
  if (app.operations) return app.operations;
  try {
    const res = await fetch('/v2/api/openapi.json');
    const doc = await res.json();
    app.operations = Object.keys(doc.paths || {}).map((p) => p.replace(/^\//, '')).sort();
  } catch (e) { app.operations = []; }
  return app.operations;
}

// ----------------------------------------------------------------- control
async function viewControl(main, view) {
  const clockBox = h('div', { id: 'clock-box' });
  const faultsBox = h('div', { id: 'faults' });
  const nsBox = h('div', { id: 'namespaces' });
  const act = (fn, ok) => async (ev) => {
    if (ev) ev.preventDefault();
    try { const r = await fn(); if (ok) flash(typeof ok === 'function' ? ok(r) : ok); await refresh(); }
    catch (e) { flash(e.message, true); }
  };

  const seedWorld = h('input', { type: 'text', id: 'seed-world', placeholder: 'default, large, xl or a file', style: 'width:190px' });
  const seedNum = h('input', { type: 'number', id: 'seed-number', placeholder: 'seed', style: 'width:100px' });
  const importFile = h('input', { type: 'file', id: 'import-file', accept: 'application/json,.json' });
  const world = h('div', { class: 'panel' }, h('h3', { style: 'margin-top:0' }, 'World'),
    h('div', { class: 'row' },
      h('button', { id: 'reset', class: 'danger', onclick: act(() => api('POST', '/reset', { namespace: app.ns }), (r) => `Reset ${r.reset.join(', ') || 'nothing'} in ${r.ms} ms`) }, `Reset this namespace`),
      h('button', { id: 'reset-all', class: 'danger', onclick: act(() => api('POST', '/reset', { all: true }), 'Every namespace was reset') }, 'Reset all')),
    h('form', { class: 'row', id: 'seed-form', onsubmit: act(() => {
      const body = {};
      if (seedWorld.value.trim()) body.world = seedWorld.value.trim();
      if (seedNum.value.trim()) body.seed = Number(seedNum.value);
      return api('POST', '/seed', body);
    }, (r) => `Seeded ${r.world}: ${r.records} records in ${Math.round(r.ms)} ms`) },
    h('label', {}, 'New world'), seedWorld, seedNum, h('button', { type: 'submit' }, 'Seed')),
    h('div', { class: 'row' }, h('label', {}, 'State'),
      h('button', { id: 'export', onclick: act(async () => {
        const headers = app.token ? { 'X-Mock-Admin-Token': app.token } : {};
        const res = await fetch('/_mock/state', { headers });
        if (!res.ok) throw new Error(`export failed: ${res.status}`);
        const blob = await res.blob();
        const a = h('a', { href: URL.createObjectURL(blob), download: 'cloudtower-mock-state.json' });
        document.body.append(a); a.click(); a.remove();
      }, 'State exported') }, 'Export'),
      importFile,
      h('button', { id: 'import', onclick: act(async () => {
        const f = importFile.files[0];
        if (!f) throw new Error('choose a state file (exported by Export) first');
        return api('POST', '/state', await f.text());
      }, 'State imported') }, 'Import')));

  const advance = h('input', { type: 'text', id: 'advance-by', placeholder: '30s, 5m, 1h', style: 'width:110px' });
  const speed = h('input', { type: 'number', id: 'speed', step: 'any', min: '0', placeholder: 'speed', style: 'width:90px' });
  const clock = h('div', { class: 'panel' }, h('h3', { style: 'margin-top:0' }, 'Clock'), clockBox,
    h('div', { class: 'row' },
      h('button', { id: 'pause', onclick: act(() => api('POST', '/clock/pause'), 'Clock paused') }, 'Pause'),
      h('button', { id: 'resume', onclick: act(() => api('POST', '/clock/resume'), 'Clock running') }, 'Resume')),
    h('form', { class: 'row', onsubmit: act(() => api('POST', '/clock/advance', { seconds: /^\d+(\.\d+)?$/.test(advance.value.trim()) ? Number(advance.value) : advance.value.trim() }), (r) => `Advanced ${r.advanced} s`) },
      h('label', {}, 'Advance by'), advance, h('button', { type: 'submit', id: 'advance' }, 'Advance')),
    h('form', { class: 'row', onsubmit: act(() => api('POST', '/clock/speed', { speed: Number(speed.value) }), 'Speed set') },
      h('label', {}, 'Speed'), speed, h('button', { type: 'submit' }, 'Set')));

  const kind = h('select', { id: 'fault-kind' }, ['error', 'latency', 'drop', 'task_failure'].map((k) => h('option', { value: k }, k)));
  const fop = h('input', { type: 'text', id: 'fault-operation', list: 'ops-ctl', placeholder: 'operation (empty: every request)', style: 'width:230px' });
  const fstatus = h('input', { type: 'number', id: 'fault-status', placeholder: 'status', style: 'width:80px' });
  const fms = h('input', { type: 'number', id: 'fault-ms', placeholder: 'ms', style: 'width:80px' });
  const ftimes = h('input', { type: 'number', id: 'fault-times', placeholder: 'times', style: 'width:80px' });
  const fmsg = h('input', { type: 'text', id: 'fault-message', placeholder: 'task error message', style: 'width:200px' });
  const fjson = h('textarea', { id: 'fault-json', rows: 3, placeholder: '…or a whole rule as JSON, e.g. {"kind": "error", "operation": "get-vms", "status": 503}' });
  const opsList = h('datalist', { id: 'ops-ctl' });
  loadOperations().then((names) => opsList.replaceChildren(...names.map((n) => h('option', { value: n }))));
  const faults = h('div', { class: 'panel' }, h('h3', { style: 'margin-top:0' }, 'Fault rules'), faultsBox,
    h('form', { id: 'fault-form', onsubmit: act(() => {
      let body;
      if (fjson.value.trim()) {
        try { body = JSON.parse(fjson.value); } catch (e) { throw new Error(`the rule is not valid JSON: ${e.message}`); }
      } else {
        body = { kind: kind.value };
        if (fop.value.trim()) body.operation = fop.value.trim();
        if (fstatus.value) body.status = Number(fstatus.value);
        if (fms.value) body.ms = Number(fms.value);
        if (ftimes.value) body.times = Number(ftimes.value);
        if (fmsg.value.trim()) body.error_message = fmsg.value.trim();
        if (kind.value === 'task_failure' && app.ns !== 'default') body.namespace = app.ns;
      }
      return api('POST', '/faults', body);
    }, (r) => `Fault rule ${r.id} added`) },
    h('div', { class: 'row' }, kind, fop, opsList, fstatus, fms, ftimes, fmsg), fjson,
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary', id: 'fault-add' }, 'Add rule'),
      h('button', { type: 'button', class: 'danger', onclick: act(() => api('DELETE', '/faults'), 'Every fault rule removed') }, 'Remove all'))));

  const nsName = h('input', { type: 'text', id: 'ns-name', placeholder: 'new namespace', style: 'width:200px' });
  const spaces = h('div', { class: 'panel' }, h('h3', { style: 'margin-top:0' }, 'Namespaces'), nsBox,
    h('form', { class: 'row', onsubmit: act(() => api('POST', '/namespaces', { name: nsName.value.trim() }), (r) => `Namespace ${r.name} ready`) },
      nsName, h('button', { type: 'submit', id: 'ns-create' }, 'Create')));

  main.replaceChildren(h('h2', {}, 'Control'), h('div', { class: 'grid-ctl' }, world, clock, faults, spaces));

  async function refresh() {
    const [ck, fl, nss] = await Promise.all([api('GET', '/clock'), api('GET', '/faults'), api('GET', '/namespaces')]);
    if (!view.alive) return;
    clockBox.replaceChildren(h('dl', { class: 'kv compact' }, h('dt', {}, 'now'), h('dd', { id: 'clock-now' }, ck.iso),
      h('dt', {}, 'state'), h('dd', { id: 'clock-state' }, ck.paused ? 'paused' : 'running'), h('dt', {}, 'speed'), h('dd', {}, `${ck.speed}×`)));
    faultsBox.replaceChildren(fl.faults.length ? h('table', { id: 'faults-table' },
      h('thead', {}, h('tr', {}, ['Id', 'Kind', 'Scope', 'Operation', 'Details', 'Hits', ''].map((c) => h('th', {}, c)))),
      h('tbody', {}, fl.faults.map((f) => h('tr', { dataset: { fault: f.id } }, h('td', { class: 'mono' }, f.id), h('td', {}, f.kind),
        h('td', {}, f.scope), h('td', {}, f.operation || h('span', { class: 'muted' }, 'any')),
        h('td', { class: 'small muted' }, faultDetails(f)), h('td', { class: 'num' }, `${f.hits ?? 0}${f.times ? ` / ${f.times}` : ''}`),
        h('td', {}, h('button', { class: 'danger', onclick: act(() => api('DELETE', `/faults/${encodeURIComponent(f.id)}`), `Fault rule ${f.id} removed`) }, 'Delete'))))))
      : h('p', { class: 'empty', id: 'no-faults' }, 'No fault rules.'));
    nsBox.replaceChildren(h('table', { id: 'ns-table' },
      h('thead', {}, h('tr', {}, ['Namespace', 'Records', 'Revision', ''].map((c) => h('th', {}, c)))),
      h('tbody', {}, nss.namespaces.map((n) => h('tr', { dataset: { ns: n.name } }, h('td', {}, n.name, n.name === app.ns ? ' (viewing)' : ''),
        h('td', { class: 'num' }, n.records), h('td', { class: 'num' }, n.revision),
        h('td', {}, h('button', { onclick: () => setNamespace(n.name), disabled: n.name === app.ns }, 'View'), ' ',
          n.name === 'default' ? '' : h('button', { class: 'danger', onclick: act(async () => {
            const r = await api('DELETE', `/namespaces/${encodeURIComponent(n.name)}`);
            if (app.ns === n.name) setNamespace('default');
            return r;
          }, `Namespace ${n.name} deleted`) }, 'Delete')))))));
  }
  await refresh();
  view.onStatus = (st, prev) => { if (prev && (st.faults !== prev.faults || st.clock.paused !== prev.clock.paused
    || Object.keys(st.namespaces).join() !== Object.keys(prev.namespaces).join() || changed(st, prev))) refresh();
  else clockBox.querySelector('#clock-now') && (clockBox.querySelector('#clock-now').textContent = st.clock.iso); };
}

function faultDetails(f) {
  const bits = [];
  if (f.status) bits.push(`status ${f.status}`);
  if (f.ms) bits.push(`${f.ms} ms`);
  if (f.distribution) bits.push(JSON.stringify(f.distribution));
  if (f.error_message) bits.push(f.error_message);
  if (f.namespace) bits.push(`namespace ${f.namespace}`);
  if (f.spent) bits.push('spent');
  return bits.join(' · ');
}

// ----------------------------------------------------------------- console
async function viewConsole(main, view, args) {
  const [vmId] = args;
  const info = await api('POST', '/console', { vm: vmId, namespace: app.ns });
  const head = h('div', {}, h('div', { class: 'crumbs' }, h('a', { href: '#/inventory' }, 'Inventory'), ' › ',
    link('Vm', vmId, info.name || 'VM'), ' › console'));
  if (info.refused) {
    main.replaceChildren(head, h('div', { class: 'panel' }, h('h2', {}, 'Console unavailable'), h('p', { class: 'error', id: 'console-refused' }, info.refused)));
    return;
  }
  main.replaceChildren(head, h('div', { class: 'panel' },
    h('div', { class: 'row' }, h('a', { href: info.terminal, target: '_blank' }, 'Open in its own tab'),
      h('span', { class: 'muted small' }, 'Websocket: '), h('code', { class: 'small', id: 'console-url' }, info.redirect)),
    h('iframe', { id: 'console-frame', src: info.terminal, style: 'width:984px;height:600px;border:0;display:block' })));
}

// -------------------------------------------------------------------- boot
window.addEventListener('hashchange', route);
$('#ns-select').addEventListener('change', (e) => setNamespace(e.target.value));
route();
poll();
