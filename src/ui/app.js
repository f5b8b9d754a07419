// The executor dashboard: plain DOM, no framework, no build step. It reads the
// /v1 operator API of the worker that serves it, polling once a second; a run's
// output arrives as it is written, over Server-Sent Events.
const view = document.getElementById('view');
const live = document.getElementById('live');
const STATES = ['running', 'retrying', 'throttled', 'succeeded', 'failed', 'forwarded', 'cancelled'];
const ENDED = ['succeeded', 'failed', 'cancelled'];
let timer;
let generation = 0;
/** The open output stream of the run page shown; closed when the page changes. */
let stream;

/** h('td', {class: 'x'}, child...) builds elements; strings become text nodes (never HTML). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: body === undefined ? { accept: 'application/json' } : { 'content-type': 'application/json', accept: 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let data;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = text;
  }
  return { ok: res.ok, status: res.status, data };
}

const stateBadge = (s) => h('span', { class: `state ${s}`, 'data-state': s }, s);
const time = (iso) => (iso ? new Date(iso).toLocaleString() : '');
const errText = (e) => (e ? `${e.code}: ${e.message}` : '');

function every(ms, fn) {
  clearTimeout(timer);
  stream?.close();
  stream = undefined;
  const mine = ++generation;
  const tick = async () => {
    try {
      await fn();
      live.classList.remove('stale');
    } catch {
      live.classList.add('stale');
    }
    if (mine === generation) timer = setTimeout(tick, ms);
  };
  tick();
}

// ------------------------------------------------------------------ list

function listPage(params) {
  const filters = { state: params.get('state') ?? '', type: params.get('type') ?? '', queue: params.get('queue') ?? '' };
  const apply = () => {
    const q = new URLSearchParams(Object.entries(filters).filter(([, v]) => v));
    location.hash = `#/?${q}`;
  };
  const field = (name, input) => {
    input.value = filters[name];
    input.addEventListener('change', () => {
      filters[name] = input.value.trim();
      apply();
    });
    return input;
  };
  const tbody = h('tbody');
  view.replaceChildren(
    h('h1', {}, 'Runs'),
    h(
      'form',
      { class: 'filters', onsubmit: (e) => e.preventDefault() },
      field(
        'state',
        h(
          'select',
          { name: 'state', 'aria-label': 'state' },
          h('option', { value: '' }, 'any state'),
          STATES.map((s) => h('option', { value: s }, s)),
        ),
      ),
      field('type', h('input', { name: 'type', placeholder: 'type', 'aria-label': 'type' })),
      field('queue', h('input', { name: 'queue', placeholder: 'queue', 'aria-label': 'queue' })),
    ),
    h(
      'table',
      { id: 'runs' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Created', 'Run', 'Type', 'State', 'Queue (tier)', 'Attempts', 'Error / status'].map((c) => h('th', {}, c)),
        ),
      ),
      tbody,
    ),
  );
  every(1000, async () => {
    const q = new URLSearchParams(Object.entries({ ...filters, pageSize: '100' }).filter(([, v]) => v));
    const res = await api('GET', `/v1/tasks?${q}`);
    if (!res.ok) throw new Error(String(res.status));
    const rows = res.data.tasks.map((x) =>
      h(
        'tr',
        { 'data-id': x.id },
        h('td', { class: 'muted' }, time(x.createdAt)),
        h(
          'td',
          {},
          h('a', { href: `#/run/${encodeURIComponent(x.id)}` }, x.id),
          x.replayOf ? h('div', { class: 'muted' }, `replay of ${x.replayOf}`) : null,
          x.job ? h('div', { class: 'muted job' }, jobText(x.job)) : null,
        ),
        h('td', {}, x.type ?? ''),
        h('td', {}, stateBadge(x.state)),
        h('td', {}, `${x.queue ?? ''} (${x.tier})`),
        h('td', {}, x.attempts),
        h('td', { class: 'muted' }, x.error ? errText(x.error) : (x.statusText ?? '')),
      ),
    );
    tbody.replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No runs yet.'))]));
  });
}

// ------------------------------------------------------------------ run

function timeline(record) {
  const start = Date.parse(record.createdAt);
  const end = Math.max(Date.parse(record.finishedAt ?? '') || Date.now(), ...record.history.map((a) => Date.parse(a.finishedAt ?? a.startedAt)));
  const span = Math.max(end - start, 1);
  const tiers = [...new Set(record.history.map((a) => a.tier))].sort((a, b) => a - b);
  return h(
    'div',
    { class: 'timeline', id: 'timeline' },
    tiers.map((tier) => {
      const attempts = record.history.filter((a) => a.tier === tier);
      return h(
        'div',
        { class: 'tier', 'data-tier': tier },
        h('div', { class: 'name' }, `${attempts[0]?.queue ?? ''} · tier ${tier}`),
        h(
          'div',
          { class: 'track' },
          attempts.map((a) => {
            const s = Date.parse(a.startedAt);
            const f = Date.parse(a.finishedAt ?? '') || Date.now();
            const left = ((s - start) / span) * 100;
            const width = Math.max(((f - s) / span) * 100, 0.8);
            const title = `attempt ${a.attempt}: ${a.outcome}${a.error ? ` — ${errText(a.error)}` : ''}`;
            return h('div', { class: `attempt ${a.outcome}`, title, style: `left:${left.toFixed(2)}%;width:${Math.min(width, 100 - left).toFixed(2)}%` });
          }),
        ),
      );
    }),
    tiers.length === 0 ? h('div', { class: 'muted' }, 'No attempts yet.') : null,
  );
}

/**
 * The run's output as it is written: GET /v1/tasks/:id/output?follow=1 sends
 * `attempt` (a header per attempt), `output` (text) and `end` events. The box is
 * kept across the page's once-a-second rebuilds, so text is appended, not refetched.
 */
function followOutput(id, box) {
  const pre = h('pre', { id: 'output' });
  let text = false;
  box.replaceChildren(h('p', { class: 'muted', id: 'output' }, 'No output (yet).'));
  const source = new EventSource(`/v1/tasks/${encodeURIComponent(id)}/output?follow=1`);
  source.addEventListener('attempt', (e) => {
    const a = JSON.parse(e.data);
    pre.append(`--- ${a.queue} attempt ${a.attempt} (tier ${a.tier}) ---\n`);
  });
  source.addEventListener('output', (e) => {
    pre.append(JSON.parse(e.data).text);
    if (!text) box.replaceChildren(pre);
    text = true;
  });
  // The stream ends when the run ended and all its output was sent; do not reconnect.
  source.addEventListener('end', () => source.close());
  // A broken connection would be retried by EventSource from the start, doubling the
  // text: close it instead, and the next tick opens a fresh stream into a fresh box.
  source.addEventListener('error', () => {
    source.close();
    if (stream === source) stream = undefined;
  });
  return source;
}

function runPage(id) {
  const msg = h('div');
  const body = h('div');
  const outputBox = h('div', { id: 'output-box' });
  view.replaceChildren(h('p', {}, h('a', { href: '#/' }, '← all runs')), h('h1', {}, id), msg, body);
  const act = async (label, method, path, payload, after) => {
    const res = await api(method, path, payload);
    msg.replaceChildren(
      h('div', { class: 'msg', role: 'status' }, res.ok ? `${label}: done` : `${label}: ${res.data?.error?.message ?? res.data?.message ?? res.status}`),
    );
    if (res.ok && after) after(res.data);
  };
  every(1000, async () => {
    const res = await api('GET', `/v1/tasks/${encodeURIComponent(id)}`);
    if (res.status === 404) {
      body.replaceChildren(h('p', { class: 'muted' }, 'No such run (not started yet, unknown, or expired).'));
      return;
    }
    if (!res.ok) throw new Error(String(res.status));
    const r = res.data;
    // Opened once the run exists (the stream answers 404 before); every() closes it on a page change.
    stream ??= followOutput(id, outputBox);
    const [result, notes] = await Promise.all([
      api('GET', `/v1/tasks/${encodeURIComponent(id)}/result`),
      api('GET', `/v1/notifications?id=${encodeURIComponent(id)}`),
    ]);
    const ended = ENDED.includes(r.state);
    const errors = r.history.filter((a) => a.error);
    body.replaceChildren(
      h(
        'div',
        { class: 'actions' },
        h(
          'button',
          { class: 'danger', id: 'cancel', disabled: ended, onclick: () => act('cancel', 'POST', `/v1/tasks/${encodeURIComponent(id)}/cancel`, {}) },
          'Cancel',
        ),
        h(
          'button',
          { id: 'redrive', disabled: !(r.deadLetters ?? []).length, onclick: () => act('redrive', 'POST', '/v1/dead-letters/redrive', { id }) },
          'Redrive',
        ),
        h(
          'button',
          {
            id: 'replay',
            disabled: !ended || r.replayable === false,
            onclick: () =>
              act('replay', 'POST', `/v1/tasks/${encodeURIComponent(id)}:replay`, {}, (d) => {
                location.hash = `#/run/${encodeURIComponent(d.id)}`;
              }),
          },
          'Replay',
        ),
      ),
      h(
        'dl',
        { class: 'grid' },
        h('dt', {}, 'state'),
        h('dd', { id: 'run-state' }, stateBadge(r.state)),
        h('dt', {}, 'type'),
        h('dd', {}, r.type ?? ''),
        h('dt', {}, 'tier'),
        h('dd', {}, `${r.tier} (${r.queue ?? ''})`),
        h('dt', {}, 'attempts'),
        h(
          'dd',
          {},
          Object.entries(r.attempts)
            .map(([t, n]) => `tier ${t}: ${n}`)
            .join(', ') || '0',
        ),
        h('dt', {}, 'created'),
        h('dd', {}, time(r.createdAt)),
        r.finishedAt ? [h('dt', {}, 'finished'), h('dd', {}, time(r.finishedAt))] : null,
        r.replayOf ? [h('dt', {}, 'replay of'), h('dd', {}, h('a', { href: `#/run/${encodeURIComponent(r.replayOf)}` }, r.replayOf))] : null,
        r.job ? [h('dt', {}, 'job'), h('dd', { id: 'run-job' }, jobText(r.job))] : null,
        r.statusText ? [h('dt', {}, 'status'), h('dd', { id: 'run-status-text' }, r.statusText)] : null,
        r.error ? [h('dt', {}, 'error'), h('dd', { id: 'run-error' }, errText(r.error))] : null,
      ),
      h('h2', {}, 'Attempts per tier'),
      timeline(r),
      h('h2', {}, 'Errors'),
      errors.length
        ? h(
            'ul',
            { class: 'plain', id: 'errors' },
            errors.map((a) => h('li', {}, `${a.queue} #${a.attempt} · ${a.outcome} · ${errText(a.error)}`)),
          )
        : h('p', { class: 'muted' }, 'None.'),
      h('h2', {}, 'Output'),
      outputBox,
      h('h2', {}, 'Result'),
      result.ok
        ? h('pre', { id: 'result' }, typeof result.data === 'string' ? result.data : JSON.stringify(result.data, null, 2))
        : h('p', { class: 'muted', id: 'result' }, 'No result (yet).'),
      h('h2', {}, 'Notifications sent'),
      notes.ok && notes.data.notifications.length
        ? h(
            'ul',
            { class: 'plain', id: 'notifications' },
            notes.data.notifications.map((n) => h('li', {}, `${time(n.time)} · ${n.type}${n.data?.error ? ` · ${errText(n.data.error)}` : ''}`)),
          )
        : h('p', { class: 'muted' }, notes.ok ? 'None.' : 'Not shown: this worker has no notification sink (executor dev has one).'),
      h('h2', {}, 'Dead letters'),
      (r.deadLetters ?? []).length
        ? h(
            'ul',
            { class: 'plain' },
            r.deadLetters.map((d) => h('li', {}, `${d.kind} · ${d.key} · ${errText(d.error)}`)),
          )
        : h('p', { class: 'muted' }, 'None.'),
    );
  });
}

function route() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query] = hash.split('?');
  const run = /^\/run\/(.+)$/.exec(path);
  if (run) runPage(decodeURIComponent(run[1]));
  else listPage(new URLSearchParams(query ?? ''));
}

window.addEventListener('hashchange', route);
route();

/** "task 3 of 20 in job J (name)": a job's task, as the list and the run page show it. */
function jobText(job) {
  return `task ${job.index + 1} of ${job.size} in job ${job.id}${job.name ? ` (${job.name})` : ''}`;
}
