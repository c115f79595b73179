// The Stepsize console: plain JS over the JSON API of DESIGN.md §5.2. Bodies are proto3 JSON, where
// int64 fields arrive as strings: every number goes through num(). The bearer token, when the
// service asks for one, lives in sessionStorage and travels only in the Authorization header (the
// event stream is read with fetch() for that reason: EventSource cannot set headers).
'use strict';

const TOKEN_KEY = 'stepsize.token';
// the console never asks for more: DESIGN.md §5.2's bound on a drawn series
const MAX_POINTS = 2000;
const $ = (id) => document.getElementById(id);
const num = (x) => (x === undefined || x === null ? 0 : Number(x));
const fmt = (x) => {
  const v = num(x);
  return Number.isFinite(v) ? (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : String(+v.toPrecision(5))) : String(x);
};

let events = null; // the AbortController of the open job page's event stream
let refreshTimer = null;
let statsTimer = null;
let shownRevisions = []; // the revisions of the job last drawn: the stats chart marks them too
const charts = {};

class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

function authHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: 'Bearer ' + token } : {};
}

async function api(path, options = {}) {
  const res = await fetch(path, { ...options, headers: { ...authHeaders(), ...(options.headers || {}) } });
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (e) { body = { code: String(res.status), message: text }; }
  if (!res.ok) {
    throw new ApiError(res.status, body && body.code, (body && body.message) || res.statusText);
  }
  return body;
}

function showError(e) {
  const box = $('error');
  if (e instanceof ApiError && e.status === 401) {
    askToken(e.message);
    return;
  }
  box.textContent = e instanceof ApiError ? e.status + ' ' + e.code + ': ' + e.message : String(e);
  box.hidden = false;
}

function clearError() { $('error').hidden = true; $('error').textContent = ''; }

function askToken(message) {
  $('jobs-view').hidden = true;
  $('job-view').hidden = true;
  $('token-form').hidden = false;
  $('error').textContent = message;
  $('error').hidden = false;
  $('token').focus();
}

$('token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
  $('token').value = '';
  $('token-form').hidden = true;
  render();
});

$('token-forget').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  render();
});

// ---- routing: #/ is the jobs list, #/job/<id> a job page ----

window.addEventListener('hashchange', render);

function render() {
  clearError();
  if (events) { events.abort(); events = null; }
  $('token-forget').hidden = !sessionStorage.getItem(TOKEN_KEY);
  const m = location.hash.match(/^#\/job\/(.+)$/);
  if (m) {
    showJob(decodeURIComponent(m[1])).catch(showError);
  } else {
    showJobs().catch(showError);
  }
}

function jobPath(id) { return '/api/v1/jobs/' + encodeURIComponent(id); }

// ---- the jobs list ----

async function showJobs() {
  const list = await api('/api/v1/jobs?page_size=1000');
  $('job-view').hidden = true;
  $('jobs-view').hidden = false;
  $('tenant').textContent = list.tenant ? 'tenant ' + list.tenant : '';
  const body = $('jobs').querySelector('tbody');
  body.replaceChildren();
  const jobs = list.jobs || [];
  $('jobs-empty').hidden = jobs.length > 0;
  for (const job of jobs) {
    const id = job.spec.jobId;
    const tr = document.createElement('tr');
    tr.dataset.jobId = id;
    const link = document.createElement('a');
    link.href = '#/job/' + encodeURIComponent(id);
    link.textContent = id;
    const first = document.createElement('td');
    first.appendChild(link);
    tr.appendChild(first);
    body.appendChild(tr);
    fillJobRow(tr, job, list.tenant).catch(showError);
  }
}

async function fillJobRow(tr, job, tenant) {
  const id = job.spec.jobId;
  const total = num(job.totalSteps);
  const c = await api(jobPath(id) + '/curvature');
  const reached = Math.min(num(c.step), total - 1);
  const r = (await api(jobPath(id) + '/rates?from_step=' + reached + '&count=1')).rates[0];
  const cells = [tenant || '–', num(c.step), total, r.source, fmt(r.lr), fmt(r.phi), fmt(c.kappa), fmt(c.edgeRatio)];
  const names = ['tenant', 'step', 'budget', 'source', 'lr', 'phi', 'kappa', 'edge-ratio'];
  cells.forEach((v, i) => {
    const td = document.createElement('td');
    td.className = names[i];
    td.textContent = String(v);
    tr.appendChild(td);
  });
}

// ---- a job page ----

async function showJob(id) {
  $('jobs-view').hidden = true;
  $('job-view').hidden = false;
  $('job-title').textContent = id;
  $('job-view').dataset.jobId = id;
  await refreshJob(id);
  $('revise-from').value = $('live-step').dataset.value || 0;
  events = new AbortController();
  watch(id, events.signal);
}

function setLive(name, value, shown) {
  const el = $(name);
  el.dataset.value = String(value);
  el.textContent = shown === undefined ? fmt(value) : shown;
}

/** Loads the job, its thinned rates, its curvature and its gradient statistics, and redraws every chart. */
async function refreshJob(id) {
  const job = await api(jobPath(id));
  const total = num(job.totalSteps);
  const stride = Math.max(1, Math.ceil(total / MAX_POINTS));
  const count = Math.ceil(total / stride);
  const [rates, curvature, stats] = await Promise.all([
    api(jobPath(id) + '/rates?from_step=0&count=' + count + '&stride=' + stride),
    api(jobPath(id) + '/curvature'),
    api(jobPath(id) + '/stats')]);
  if ($('job-view').dataset.jobId !== id) {
    return; // the user moved on meanwhile
  }
  const reached = num(curvature.step);
  setLive('live-step', reached, String(reached));
  setLive('live-total', total, String(total));
  setLive('live-kappa', num(curvature.kappa));
  setLive('live-edge', num(curvature.edgeRatio));
  setLive('live-revision', (job.revisions || []).length, String((job.revisions || []).length));
  const at = rates.rates.filter((r) => num(r.step) <= reached).pop() || rates.rates[0];
  setLive('live-phi', at ? num(at.phi) : 0);
  shownRevisions = job.revisions || [];
  drawCharts(job, rates.rates, curvature, stats, reached);
  const list = $('revisions');
  list.replaceChildren();
  for (const rev of job.revisions || []) {
    const li = document.createElement('li');
    li.textContent = 'from step ' + num(rev.fromStep) + ': ' + (rev.reason || '(no reason)')
      + (rev.author ? ' (by ' + rev.author + ')' : '');
    list.appendChild(li);
  }
}

/** Vertical markers at each revision's from_step, labelled with its reason. */
function revisionMarkers(revisions) {
  return {
    hooks: {
      draw: [(u) => {
        const ctx = u.ctx;
        ctx.save();
        ctx.strokeStyle = '#b15928';
        ctx.fillStyle = '#b15928';
        ctx.setLineDash([2, 3]);
        ctx.font = (11 * devicePixelRatio) + 'px sans-serif';
        // uPlot leaves the context right-aligned from its axes
        ctx.textAlign = 'left';
        ctx.textBaseline = 'top';
        for (const rev of revisions) {
          const x = u.valToPos(num(rev.fromStep), 'x', true);
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
          ctx.fillText('rev ' + num(rev.number) + ': ' + (rev.reason || ''), x + 4, u.bbox.top + 2 * devicePixelRatio);
        }
        ctx.restore();
      }],
    },
  };
}

const COLORS = ['#1f78b4', '#33a02c', '#e31a1c', '#ff7f00', '#6a3d9a', '#b15928'];

function chart(name, series, data, revisions, extra = {}) {
  const el = $('chart-' + name);
  if (charts[name]) charts[name].destroy();
  el.dataset.points = String(data[0].length);
  const width = Math.max(320, el.clientWidth || 560);
  charts[name] = new uPlot({
    width, height: 220,
    scales: { x: { time: false }, ...(extra.scales || {}) },
    axes: extra.axes || [{}, {}],
    series: [{ label: 'step' }, ...series],
    plugins: [revisionMarkers(revisions)],
  }, data, el);
}

function drawCharts(job, rates, curvature, stats, reached) {
  const revisions = job.revisions || [];
  const steps = rates.map((r) => num(r.step));
  // one solid (served) and one dashed (planned) series per group; they share the point at `reached`
  const groups = (job.spec.groups || []).map((g) => g.name);
  const lrSeries = [];
  const lrData = [steps];
  const names = groups.length ? groups : ['lr'];
  names.forEach((name, g) => {
    const values = rates.map((r) => num(groups.length ? r.groupLrs[g] : r.lr));
    const color = COLORS[g % COLORS.length];
    lrSeries.push({ label: name, stroke: color, width: 1.5 });
    lrSeries.push({ label: name + ' (planned)', stroke: color, width: 1.5, dash: [6, 4] });
    lrData.push(values.map((v, i) => (steps[i] <= reached ? v : null)));
    // the first planned point is the last served one, so the two lines meet
    let first = steps.findIndex((s) => s > reached);
    lrData.push(values.map((v, i) => (first >= 0 && i >= Math.max(0, first - 1) ? v : null)));
  });
  chart('lr', lrSeries, lrData, revisions);
  chart('phi', [{ label: 'φ', stroke: '#6a3d9a', width: 1.5 }], [steps, rates.map((r) => num(r.phi))], revisions);

  const timeline = curvature.timeline || [];
  const ts = timeline.map((p) => num(p.step));
  chart('kappa', [
    { label: 'κ', stroke: '#e31a1c', width: 1.5, scale: 'k' },
    { label: 'λ_max', stroke: '#1f78b4', width: 1.5 },
    { label: 'λ_low', stroke: '#33a02c', width: 1.5 },
    { label: 'λ_h', stroke: '#ff7f00', width: 1.5 },
  ], [ts, timeline.map((p) => num(p.kappa)), timeline.map((p) => num(p.lambdaMax)),
    timeline.map((p) => num(p.lambdaLow)), timeline.map((p) => num(p.lambdaHarmonic))], revisions,
  { scales: { k: {} }, axes: [{}, { label: 'λ' }, { side: 1, scale: 'k', label: 'κ', grid: { show: false } }] });
  chart('edge', [
    { label: 'edge ratio', stroke: '#e31a1c', width: 1.5 },
    { label: 'threshold', stroke: '#999', width: 1, dash: [4, 4] },
  ], [ts, timeline.map((p) => num(p.edgeRatio)), ts.map(() => 1)], revisions);

  drawStats(stats, revisions);
}

/** Only the gradient statistics, for the look after events that the other charts need not repeat. */
async function refreshStats(id) {
  const stats = await api(jobPath(id) + '/stats');
  if ($('job-view').dataset.jobId !== id) {
    return; // the user moved on meanwhile
  }
  drawStats(stats, shownRevisions);
}

function drawStats(stats, revisions) {
  const points = stats.points || [];
  // a trainer that reports no gradient statistics gets no empty chart
  $('chart-stats').parentElement.hidden = points.length === 0;
  chart('stats', [
    { label: 'loss', stroke: '#1f78b4', width: 1.5 },
    { label: 'grad norm', stroke: '#33a02c', width: 1.5, scale: 'g' },
  ], [points.map((p) => num(p.step)), points.map((p) => num(p.loss)), points.map((p) => num(p.gradNorm))], revisions,
  { scales: { g: {} }, axes: [{}, { label: 'loss' }, { side: 1, scale: 'g', label: 'grad norm', grid: { show: false } }] });
}

/** Reads the job's Server-Sent Events over fetch (the header carries the token); reconnects. */
async function watch(id, signal) {
  try {
    const res = await fetch(jobPath(id) + '/events', { headers: { ...authHeaders(), Accept: 'text/event-stream' }, signal });
    if (!res.ok) {
      const body = await res.json().catch(() => ({}));
      throw new ApiError(res.status, body.code, body.message || res.statusText);
    }
    $('live-status').textContent = '(live)';
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        if (data) onUpdate(id, JSON.parse(data));
      }
    }
  } catch (e) {
    if (signal.aborted) return;
    showError(e);
    if (e instanceof ApiError && e.status !== 503) return;
  }
  if (!signal.aborted) {
    $('live-status').textContent = '(reconnecting)';
    setTimeout(() => { if (!signal.aborted) watch(id, signal); }, 2000);
  }
}

/** An estimate or a revision: the live figures at once, the charts after a short quiet spell. */
function onUpdate(id, update) {
  if (update.curvature) {
    setLive('live-kappa', num(update.curvature.kappa));
    setLive('live-edge', num(update.curvature.edgeRatio));
    setLive('live-step', num(update.curvature.step), String(num(update.curvature.step)));
  }
  setLive('live-phi', num(update.phi));
  // at most one redraw pending: a trainer probing faster than the delay still sees its charts move
  if (!refreshTimer) {
    refreshTimer = setTimeout(() => { refreshTimer = null; refreshJob(id).catch(showError); }, 300);
  }
  // gradient statistics travel their own topic and are not events: look again once they have had time,
  // at them only (the refresh above has the job, rates and curvature)
  if (!statsTimer) {
    statsTimer = setTimeout(() => { statsTimer = null; refreshStats(id).catch(showError); }, 2500);
  }
}

// ---- the revise form ----

$('revise-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const id = $('job-view').dataset.jobId;
  const kind = $('revise-kind').value;
  const from = $('revise-from').value.trim();
  const value = $('revise-value').value.trim();
  const out = $('revise-result');
  try {
    const revision = { fromStep: from, reason: $('revise-reason').value };
    if (kind === 'extend') revision.totalSteps = value;
    // decay now: the budget ends N steps after from_step, and the schedule re-plans its decay to it
    if (kind === 'decay') revision.totalSteps = /^\d+$/.test(value) && /^\d+$/.test(from) ? String(BigInt(from) + BigInt(value)) : value;
    if (kind === 'hold') revision.hold = true;
    if (kind === 'set_lr') revision.setLr = value;
    const job = await api(jobPath(id) + '/revisions', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ revision }),
    });
    out.className = 'ok';
    out.textContent = 'revision ' + (job.revisions || []).length + ' accepted';
    await refreshJob(id);
  } catch (e) {
    out.className = 'error';
    out.textContent = e instanceof ApiError ? e.status + ' ' + e.code + ': ' + e.message : String(e);
  }
});

render();
