// Lamina's web console (docs/console.md): Preact components written with htm, charts by uPlot.
// Everything it reads comes from /console/api/ on this server (src/lamina/api/console.py).
import { h, render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';
import uPlot from 'uplot';

const html = htm.bind(h);
const TOKEN = document.querySelector('meta[name="lamina-console-token"]').content;
const REFRESH_MS = 5000;

class RequestFailed extends Error {}

async function getJSON(path, signal) {
  const response = await fetch('/console/api' + path, { headers: { Accept: 'application/json' }, signal });
  const body = await response.json();
  if (!response.ok) throw new RequestFailed(body.message || response.statusText);
  return body;
}

async function postJSON(path, doc) {
  const response = await fetch('/console/api' + path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Lamina-Console-Token': TOKEN },
    body: JSON.stringify(doc),
  });
  const body = await response.json();
  if (!response.ok) throw new RequestFailed(body.message || response.statusText);
  return body;
}

const enc = encodeURIComponent;
// Every request for a cell's data names the cell (ACCOUNT/REGION); none: the default cell.
const inCell = (path, cell) => (cell ? path + (path.includes('?') ? '&' : '?') + 'cell=' + enc(cell) : path);
// The page's address names the cell (#/cells/ACCOUNT/REGION/...), so a reload or a link keeps it.
const cellHash = (cell) => (cell ? '#/cells/' + cell : '#/');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function useHash() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const changed = () => setHash(location.hash);
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return hash;
}

// Calls load() now and every `every` ms; returns [data, error, reload].
function usePolled(load, deps, every = REFRESH_MS) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const reload = useCallback(async () => {
    try {
      setData(await load());
      setError(null);
    } catch (e) {
      setError(e.message);
    }
  }, deps);
  useEffect(() => {
    reload();
    const timer = setInterval(reload, every);
    return () => clearInterval(timer);
  }, [reload, every]);
  return [data, error, reload];
}

function route(hash) {
  const match = hash.match(/^#\/(?:cells\/(\d{12})\/([a-z0-9-]+)\/?)?(?:functions\/(.+))?$/);
  if (!match) return { cell: null, name: null };
  return { cell: match[1] ? `${match[1]}/${match[2]}` : null, name: match[3] ? decodeURIComponent(match[3]) : null };
}

function App() {
  const hash = useHash();
  const { cell, name } = route(hash);
  const home = cellHash(cell);
  return html`
    <header>
      <a class="brand" href="#/">Lamina</a>
      <${CellSelector} cell=${cell} />
      <nav>${name ? html`<a href=${home}>Functions</a> / <span>${name}</span>` : html`<span>Functions</span>`}</nav>
    </header>
    <main>${name
      ? html`<${FunctionView} key=${cell + '|' + name} name=${name} cell=${cell} />`
      : html`<${Overview} cell=${cell} /><${FunctionList} key=${cell} cell=${cell} />`}</main>`;
}

// Every cell there is (an account in a region): choosing one shows its functions.
function CellSelector({ cell }) {
  const [data] = usePolled(() => getJSON('/cells'), [], 30000);
  if (!data) return null;
  const current = cell || data.cells[0].cell;
  return html`
    <label class="cell">Account / region
      <select data-testid="cell" value=${current} onChange=${(e) => { location.hash = cellHash(e.target.value); }}>
        ${data.cells.map((c) => html`<option value=${c.cell}>${c.account} / ${c.region}${c.default ? ' (default)' : ''}</option>`)}
      </select>
    </label>`;
}

// A bill rounded to the cent, as `lamina usage` prints it; "< 0.01" for less than half a cent (the
// exact amount is the cell's tooltip).
const money = (row) => (row.cost === '0.00' && Number(row.exactCost) > 0 ? '< 0.01' : row.cost);

// Every cell at a glance: its functions, and over the window its invocations, errors and cost.
function Overview({ cell }) {
  const [minutes, setMinutes] = useState(1440);
  // Priced as `lamina usage` prices it, from the month's start: read once a minute, not every 5 s.
  const [data, error] = usePolled(() => getJSON(`/overview?minutes=${minutes}`), [minutes], 60000);
  if (error) return html`<p class="error">${error}</p>`;
  if (!data) return html`<p class="muted">Loading…</p>`;
  const current = cell || data.cells[0].cell;
  return html`
    <section class="panel overview">
      <h2 class="left">Every account and region, the last
        <select class="window" value=${minutes} onChange=${(e) => setMinutes(Number(e.target.value))}>
          ${[[60, 'hour'], [1440, '24 hours'], [10080, '7 days']].map(([m, label]) => html`<option value=${m}>${label}</option>`)}
        </select></h2>
      <table class="list" data-testid="overview">
        <thead><tr><th>Account</th><th>Region</th><th>Functions</th><th>Invocations</th><th>Errors</th><th>Cost (${data.currency})</th></tr></thead>
        <tbody>${data.cells.map((c) => html`
          <tr key=${c.cell} data-cell=${c.cell} class=${c.cell === current ? 'current' : ''}>
            <td><a href=${cellHash(c.cell)}>${c.account}</a>${c.default ? html` <span class="muted">(default)</span>` : ''}</td>
            <td>${c.region}</td><td>${c.functions}</td><td>${c.invocations}</td>
            <td class=${c.errors ? 'bad' : ''}>${c.errors}</td><td title=${c.exactCost}>${money(c)}</td>
          </tr>`)}
        </tbody>
        <tfoot><tr data-cell="total"><th colspan="2">Total</th><th>${data.total.functions}</th><th>${data.total.invocations}</th>
          <th>${data.total.errors}</th><th title=${data.total.exactCost}>${money(data.total)}</th></tr></tfoot>
      </table>
    </section>`;
}

function State({ state }) {
  return html`<span class=${'state state-' + String(state).toLowerCase()}>${state}</span>`;
}

function FunctionList({ cell }) {
  const [data, error] = usePolled(() => getJSON(inCell('/functions', cell)), [cell]);
  if (error) return html`<p class="error">${error}</p>`;
  if (!data) return html`<p class="muted">Loading…</p>`;
  if (!data.functions.length) {
    return html`<p class="muted">No functions yet: deploy one (<code>lamina deploy</code>, boto3, the AWS CLI).</p>`;
  }
  return html`
    <h1>Functions ${cell && html`<span class="muted small">of ${cell.replace('/', ' in ')}</span>`}</h1>
    <table class="list" data-testid="functions">
      <thead><tr><th>Name</th><th>State</th><th>Runtime</th><th>Memory</th><th>Architecture</th><th>Last modified</th></tr></thead>
      <tbody>${data.functions.map((fn) => html`
        <tr key=${fn.name}>
          <td><a href=${(cell ? cellHash(cell) + '/' : '#/') + 'functions/' + enc(fn.name)}>${fn.name}</a></td>
          <td><${State} state=${fn.state} /></td>
          <td>${fn.runtime}</td>
          <td>${fn.memory} MB</td>
          <td>${fn.architectures.join(', ')}</td>
          <td class="muted">${fn.lastModified}</td>
        </tr>`)}
      </tbody>
    </table>`;
}

function FunctionView({ name, cell }) {
  const [detail, detailError, reloadDetail] = usePolled(() => getJSON(inCell(`/functions/${enc(name)}`, cell)), [name, cell]);
  const [minutes, setMinutes] = useState(60);
  // A long window is read less often: a day of a busy function is a hundred thousand records.
  const [series, , reloadSeries] = usePolled(() => getJSON(inCell(`/functions/${enc(name)}/series?minutes=${minutes}`, cell)),
    [name, cell, minutes], minutes > 60 ? 60000 : REFRESH_MS);
  const invoked = useCallback(() => {
    // The ledger is written in batches (every 100 ms): read it again once that has happened.
    setTimeout(() => { reloadSeries(); reloadDetail(); }, 400);
  }, [reloadSeries, reloadDetail]);
  if (detailError) return html`<p class="error">${detailError}</p>`;
  if (!detail) return html`<p class="muted">Loading…</p>`;
  const fn = detail.function;
  const qualifiers = ['$LATEST', ...detail.versions.map((v) => v.version), ...detail.aliases.map((a) => a.name)];
  return html`
    <h1>${fn.name} <${State} state=${fn.state} /></h1>
    <p class="muted">${fn.description}</p>
    <dl class="config">
      <dt>Runtime</dt><dd>${fn.runtime}</dd>
      <dt>Handler</dt><dd>${fn.handler}</dd>
      <dt>Memory</dt><dd>${fn.memory} MB</dd>
      <dt>Timeout</dt><dd>${fn.timeout} s</dd>
      <dt>Architecture</dt><dd>${fn.architectures.join(', ')}</dd>
      <dt>Code</dt><dd>${fn.codeSize} bytes</dd>
      <dt>Last modified</dt><dd>${fn.lastModified}</dd>
    </dl>
    <h2 class="left">Per minute, the last
      <select class="window" value=${minutes} onChange=${(e) => setMinutes(Number(e.target.value))}>
        ${[[15, '15 minutes'], [60, 'hour'], [360, '6 hours'], [1440, '24 hours']].map(([m, label]) => html`<option value=${m}>${label}</option>`)}
      </select></h2>
    ${series && html`<${Charts} key=${minutes} series=${series} />`}
    <div class="columns">
      <${InvokeForm} name=${name} cell=${cell} qualifiers=${qualifiers} onInvoked=${invoked} />
      <${Logs} name=${name} cell=${cell} />
    </div>
    <div class="columns">
      <${VersionsAliases} versions=${detail.versions} aliases=${detail.aliases} />
      <${Triggers} triggers=${detail.triggers} />
    </div>
    <${QueueLetters} queue=${detail.queue} letters=${detail.deadLetters} />`;
}

const sum = (values) => values.reduce((a, b) => a + (b || 0), 0);
const max = (values) => values.reduce((a, b) => (b == null ? a : Math.max(a, b)), 0);

function Charts({ series }) {
  const x = series.minutes;
  const bars = uPlot.paths.bars({ size: [0.7, 24] });
  return html`
    <section class="charts">
      <${Chart} id="invocations" title="Invocations and errors" total=${sum(series.invocations)}
        label=${`${sum(series.invocations)} invocations, ${sum(series.errors)} errors`}
        data=${[x, series.invocations, series.errors]}
        series=${[{ label: 'Invocations', stroke: '#2563eb', fill: '#2563eb55', paths: bars },
                  { label: 'Errors', stroke: '#dc2626', fill: '#dc262688', paths: bars }]} />
      <${Chart} id="duration" title="Duration (ms)" total=${max(series.p99)}
        label=${`p99 up to ${max(series.p99)} ms`}
        data=${[x, series.p50, series.p99]}
        series=${[{ label: 'p50', stroke: '#059669', points: { show: true } },
                  { label: 'p99', stroke: '#d97706', points: { show: true } }]} />
      <${Chart} id="cold-starts" title="Cold starts" total=${sum(series.coldStarts)}
        label=${`${sum(series.coldStarts)} cold starts`}
        data=${[x, series.coldStarts]}
        series=${[{ label: 'Cold starts', stroke: '#7c3aed', fill: '#7c3aed55', paths: bars }]} />
      <${Chart} id="cost" title=${`Cost (millionths of a USD, ${series.architecture})`} total=${sum(series.cost)}
        label=${`$${sum(series.cost).toFixed(8)}`}
        data=${[x, series.cost.map((usd) => usd * 1e6)]}
        series=${[{ label: 'µUSD', stroke: '#0f766e', fill: '#0f766e33', value: (u, v) => (v == null ? '-' : v.toFixed(3)) }]} />
    </section>`;
}

function Chart({ id, title, total, label, data, series }) {
  const box = useRef(null);
  const plot = useRef(null);
  useEffect(() => {
    const width = Math.max(280, box.current.clientWidth);
    plot.current = new uPlot({
      width, height: 170,
      series: [{}, ...series],
      axes: [{}, { size: 60 }],
      scales: { y: { range: (u, low, high) => [0, Math.max(high, 1)] } },
      legend: { show: true },
    }, data, box.current);
    return () => plot.current.destroy();
  }, []);
  useEffect(() => { if (plot.current) plot.current.setData(data); }, [data]);
  return html`
    <figure class="chart" data-chart=${id} data-total=${total}>
      <figcaption>${title} <span class="total">${label}</span></figcaption>
      <div ref=${box}></div>
    </figure>`;
}

function InvokeForm({ name, cell, qualifiers, onInvoked }) {
  const [payload, setPayload] = useState('{\n  "name": "Lamina"\n}');
  const [qualifier, setQualifier] = useState('$LATEST');
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  let parseError = null;
  try {
    JSON.parse(payload);
  } catch (e) {
    parseError = e.message;
  }
  const submit = async (event) => {
    event && event.preventDefault();
    if (parseError || busy) return;
    setBusy(true);
    setError(null);
    try {
      setResult(await postJSON(inCell(`/functions/${enc(name)}/invoke`, cell), { payload, qualifier }));
      onInvoked();
    } catch (e) {
      setError(e.message);
    } finally {
      setBusy(false);
    }
  };
  const keys = (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      submit(event);
    } else if (event.key === 'Tab') {  // two spaces, as JSON is indented here, rather than leaving the editor
      event.preventDefault();
      const area = event.target;
      const at = area.selectionStart;
      setPayload(payload.slice(0, at) + '  ' + payload.slice(area.selectionEnd));
      requestAnimationFrame(() => { area.selectionStart = area.selectionEnd = at + 2; });
    }
  };
  return html`
    <section class="panel">
      <h2>Invoke</h2>
      <form data-testid="invoke-form" onSubmit=${submit}>
        <label>Payload (JSON) <span class="hint">Ctrl+Enter invokes</span></label>
        <textarea class=${'payload' + (parseError ? ' invalid' : '')} spellcheck="false" rows="8"
          value=${payload} onInput=${(e) => setPayload(e.target.value)} onKeyDown=${keys}></textarea>
        ${parseError && html`<p class="error small">${parseError}</p>`}
        <div class="row">
          <select value=${qualifier} onChange=${(e) => setQualifier(e.target.value)}>
            ${qualifiers.map((q) => html`<option value=${q}>${q}</option>`)}
          </select>
          <button type="button" disabled=${!!parseError}
            onClick=${() => setPayload(JSON.stringify(JSON.parse(payload), null, 2))}>Format</button>
          <button type="submit" class="primary" disabled=${!!parseError || busy}>${busy ? 'Invoking…' : 'Invoke'}</button>
        </div>
      </form>
      ${error && html`<p class="error">${error}</p>`}
      ${result && html`<${Result} result=${result} />`}
    </section>`;
}

function pretty(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch (e) {
    return text;
  }
}

function Result({ result }) {
  return html`
    <div class="result" data-testid="invoke-result" data-request-id=${result.requestId}>
      <p>
        <span class=${result.functionError ? 'state state-failed' : 'state state-active'}>
          ${result.functionError ? `${result.status} ${result.functionError}` : result.status}</span>
        <span class="muted"> version ${result.executedVersion} · request ${result.requestId}</span>
      </p>
      <pre class="payload-out">${pretty(result.payload)}</pre>
      ${result.logTail && html`<details open><summary>Log tail</summary><pre class="logs small">${result.logTail}</pre></details>`}
    </div>`;
}

function Logs({ name, cell }) {
  const [lines, setLines] = useState([]);
  const [follow, setFollow] = useState(true);
  const [error, setError] = useState(null);
  const box = useRef(null);
  useEffect(() => {
    const abort = new AbortController();
    (async () => {
      let cursor = null;
      while (!abort.signal.aborted) {
        try {
          if (cursor === null) {
            const first = await getJSON(inCell(`/functions/${enc(name)}/logs`, cell), abort.signal);
            setLines(first.events);
            cursor = first.nextCursor;
            if (!follow) return;
          } else {
            const next = await getJSON(inCell(`/functions/${enc(name)}/logs?since=${cursor}&wait=20`, cell), abort.signal);
            if (next.events.length) setLines((old) => [...old, ...next.events].slice(-1000));
            cursor = next.nextCursor;
          }
          setError(null);
        } catch (e) {
          if (abort.signal.aborted) return;
          setError(e.message);
          await sleep(2000);
        }
      }
    })();
    return () => abort.abort();
  }, [name, cell, follow]);
  useEffect(() => {
    if (box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines]);
  return html`
    <section class="panel">
      <h2>Logs
        <label class="toggle"><input type="checkbox" checked=${follow}
          onChange=${(e) => setFollow(e.target.checked)} /> live tail</label></h2>
      ${error && html`<p class="error small">${error}</p>`}
      <pre class="logs" data-testid="logs" ref=${box}>${lines.length
        ? lines.map((l) => html`<div key=${l.cursor}><span class="time">${new Date(l.timestamp).toISOString().slice(11, 23)}</span> ${l.message.replace(/\n$/, '').replace(/\r/g, '\n')}</div>`)
        : html`<span class="muted">No log lines in the last hour.</span>`}</pre>
    </section>`;
}

function VersionsAliases({ versions, aliases }) {
  return html`
    <section class="panel">
      <h2>Versions and aliases</h2>
      ${versions.length ? html`
        <table class="list small" data-testid="versions">
          <thead><tr><th>Version</th><th>Description</th><th>State</th><th>Last modified</th></tr></thead>
          <tbody>${versions.map((v) => html`<tr><td>${v.version}</td><td>${v.description}</td><td><${State} state=${v.state} /></td><td class="muted">${v.lastModified}</td></tr>`)}</tbody>
        </table>` : html`<p class="muted">No published versions.</p>`}
      ${aliases.length ? html`
        <table class="list small" data-testid="aliases">
          <thead><tr><th>Alias</th><th>Version</th><th>Routing</th></tr></thead>
          <tbody>${aliases.map((a) => html`<tr><td>${a.name}</td><td>${a.functionVersion}</td><td>${Object.entries(a.weights).map(([v, w]) => `${v}: ${Math.round(w * 100)}%`).join(', ') || '-'}</td></tr>`)}</tbody>
        </table>` : html`<p class="muted">No aliases.</p>`}
    </section>`;
}

function Triggers({ triggers }) {
  const none = !triggers.mappings.length && !triggers.urls.length && !triggers.rules.length;
  return html`
    <section class="panel" data-testid="triggers">
      <h2>Triggers</h2>
      ${none && html`<p class="muted">Nothing invokes this function but direct calls.</p>`}
      <ul class="triggers">
        ${triggers.urls.map((u) => html`<li><b>Function URL</b> (${u.qualifier}, ${u.authType}) <code>${u.url}</code></li>`)}
        ${triggers.mappings.map((m) => html`<li><b>Event source mapping</b> ${m.kind}: <code>${m.source}</code> <${State} state=${m.state} /> <span class="muted">batch ${m.batchSize}, ${m.lastResult}</span></li>`)}
        ${triggers.rules.map((r) => html`<li><b>EventBridge rule</b> ${r.rule} <span class="muted">on bus ${r.bus}${r.qualifier ? `, for ${r.qualifier}` : ''}</span></li>`)}
      </ul>
    </section>`;
}

function QueueLetters({ queue, letters }) {
  return html`
    <section class="panel">
      <h2>Asynchronous invocations</h2>
      <p data-testid="queue">Queued: <b>${queue.depth}</b> · being attempted: <b>${queue.inFlight}</b> · oldest: <b>${queue.oldestAgeSeconds} s</b></p>
      <h3>Dead letters and destination records waiting for their target</h3>
      ${letters.length ? html`
        <table class="list small" data-testid="dead-letters">
          <thead><tr><th>When</th><th>Kind</th><th>Target</th><th>Request</th><th>Body</th></tr></thead>
          <tbody>${letters.map((m) => html`<tr><td class="muted">${new Date(m.createdMs).toISOString()}</td><td>${m.kind}</td><td><code>${m.target}</code></td><td>${m.requestId}</td><td><code class="clip">${m.body}</code></td></tr>`)}</tbody>
        </table>` : html`<p class="muted">None.</p>`}
    </section>`;
}

render(html`<${App} />`, document.getElementById('app'));
