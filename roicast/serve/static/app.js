// roicast serve: the what-if page.  Every string from the spec is written with
// textContent (never innerHTML); charts are drawn by the bundled plotly.min.js.
"use strict";

const S = {
  state: null,          // last page state from the server
  option: null,         // option shown
  controlsKey: null,    // (version, option) the controls were built for
  pollTimer: null,
  busy: 0,
};

const $ = (id) => document.getElementById(id);

function el(tag, props = {}, children = []) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "text") e.textContent = v;
    else if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.appendChild(c);
  return e;
}

async function api(method, url, body) {
  const opts = { method, headers: {} };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(url, opts);
  let data = null;
  try { data = await r.json(); } catch (e) { data = { error: `HTTP ${r.status}` }; }
  return { status: r.status, data };
}

function fmtInt(n) { return Number(n).toLocaleString("en-US"); }

// ------------------------------------------------------------------ status
function setStatus() {
  const st = S.state;
  if (!st) return;
  let s;
  if (S.busy > 0) s = "running…";
  else if (st.refined) s = `${fmtInt(st.draws)} draws`;
  else if (st.refine_error) s = `quick run, ${fmtInt(st.draws)} draws; refinement failed: ${st.refine_error}`;
  else s = `quick run, ${fmtInt(st.draws)} draws — refining to ${fmtInt(st.target_draws)}…`;
  $("status").textContent = s;
  $("status").dataset.kind = st.refined ? "refined" : "quick";
  $("status").dataset.version = String(st.version);
}

// ---------------------------------------------------------------- headline
function renderHeadline(view, st) {
  const h = view.headline;
  const v = $("verdict");
  v.textContent = h.verdict.toUpperCase();
  $("verdict-card").classList.toggle("go", h.verdict === "go");
  $("verdict-card").classList.toggle("nogo", h.verdict !== "go");
  $("reason").textContent = h.reason;
  $("ask").textContent = h.ask.text.p50;
  $("ask-range").textContent = `P10 ${h.ask.text.p10} – P90 ${h.ask.text.p90}`;
  $("prob-neg").textContent = h.prob_npv_negative_text;
  const within = h.payback_months.prob_within_horizon;
  $("payback-within").textContent =
    `paid back within ${st.horizon_months} months: ${Math.round(100 * within)}%`;
  for (const q of ["p10", "p50", "p90", "mean"]) {
    $(`npv-${q}`).textContent = h.npv.text[q];
    $(`roi-${q}`).textContent = h.roi.text[q];
    if (q !== "mean") $(`payback-${q}`).textContent = h.payback_months.text[q];
  }
}

function renderComparison(st) {
  const box = $("comparison-box");
  box.hidden = st.options.length < 2;
  const body = $("comparison").querySelector("tbody");
  body.replaceChildren();
  const cur = st.currency;
  const money = (x) => (x === null ? "n/a" : new Intl.NumberFormat("en-US", {
    style: "currency", currency: /^[A-Z]{3}$/.test(cur) ? cur : "USD", maximumFractionDigits: 0,
  }).format(x));
  for (const row of st.comparison) {
    const name = row.option + (row.option === st.recommended ? " (recommended)" : "");
    body.appendChild(el("tr", {}, [
      el("td", { text: name }), el("td", { text: money(row.mean_npv) }),
      el("td", { text: money(row.p10_npv) }),
      el("td", { text: `${Math.round(100 * row.prob_npv_negative)}%` }),
      el("td", { text: row.verdict }),
    ]));
  }
}

// ------------------------------------------------------------------ charts
const PLOT_CONFIG = { displayModeBar: false, responsive: true };
const BASE_LAYOUT = {
  margin: { l: 60, r: 20, t: 40, b: 45 }, font: { size: 12 },
  paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#fff", showlegend: false,
};

// The tornado's hover: demand is the rank of a forecast path, so it is shown as the total
// demand over the horizon (the summary's low_volume / high_volume), like the report does.
const COMPACT = new Intl.NumberFormat("en", { notation: "compact", maximumSignificantDigits: 3 });
function tornadoAt(r, side) {
  const volume = r[`${side}_volume`];
  if (r.input === "demand" && volume !== undefined && volume !== null) {
    return `total demand ${COMPACT.format(volume)}`;
  }
  return `input at ${Number(r[`${side}_value`]).toPrecision(4)}`;
}

function renderCharts(view, st) {
  const cur = st.currency;
  const s = view.s_curve;
  Plotly.react("chart-s", [{
    x: s.npv, y: s.prob, mode: "lines", line: { color: "#1f5fa8", width: 2 },
    hovertemplate: "NPV %{x:,.0f}<br>P(NPV ≤ x) %{y:.0%}<extra></extra>",
  }], {
    ...BASE_LAYOUT, title: { text: "NPV S-curve" },
    xaxis: { title: { text: `NPV (${cur})` }, zeroline: true, zerolinecolor: "#c0392b" },
    yaxis: { title: { text: "P(NPV ≤ x)" }, range: [0, 1], tickformat: ".0%" },
  }, PLOT_CONFIG);

  const rows = view.tornado.slice().reverse();
  const names = rows.map((r) => r.input);
  const base = rows.length ? rows[0].base : 0;
  Plotly.react("chart-tornado", [
    { type: "bar", orientation: "h", y: names, x: rows.map((r) => r.low - r.base),
      base: rows.map((r) => r.base), marker: { color: "#5b8def" }, name: "input at its P10",
      customdata: rows.map((r) => tornadoAt(r, "low")),
      hovertemplate: "%{customdata}: mean NPV %{x:,.0f} from base<extra>P10</extra>" },
    { type: "bar", orientation: "h", y: names, x: rows.map((r) => r.high - r.base),
      base: rows.map((r) => r.base), marker: { color: "#f0a030" }, name: "input at its P90",
      customdata: rows.map((r) => tornadoAt(r, "high")),
      hovertemplate: "%{customdata}: mean NPV %{x:,.0f} from base<extra>P90</extra>" },
  ], {
    ...BASE_LAYOUT, barmode: "overlay", title: { text: `Tornado: mean NPV (${cur}), input at P10 / P90` },
    showlegend: true, legend: { orientation: "h", x: 0, y: -0.12, yanchor: "top" },
    margin: { ...BASE_LAYOUT.margin, l: 210, b: 60 },
    shapes: [{ type: "line", x0: base, x1: base, yref: "paper", y0: 0, y1: 1,
      line: { color: "#333", width: 1, dash: "dot" } }],
  }, PLOT_CONFIG);

  const f = view.fan;
  const q = f.quantiles;
  const band = (lo, hi, color) => [
    { x: f.month, y: q[lo], mode: "lines", line: { width: 0 }, hoverinfo: "skip" },
    { x: f.month, y: q[hi], mode: "lines", line: { width: 0 }, fill: "tonexty",
      fillcolor: color, hoverinfo: "skip" },
  ];
  Plotly.react("chart-fan", [
    ...band("p5", "p95", "rgba(31,95,168,0.15)"),
    ...band("p25", "p75", "rgba(31,95,168,0.3)"),
    { x: f.month, y: q.p50, mode: "lines", line: { color: "#1f5fa8", width: 2 },
      hovertemplate: "%{x}: P50 %{y:,.0f}<extra></extra>" },
  ], {
    ...BASE_LAYOUT, title: { text: "Cumulative cash flow (P5–P95, P25–P75, P50)" },
    xaxis: { title: { text: "month" } },
    yaxis: { title: { text: cur }, zeroline: true, zerolinecolor: "#c0392b" },
  }, PLOT_CONFIG);
}

// ---------------------------------------------------------------- controls
function tableFrom(ctrl, kind, inputs) {
  const vals = {};
  for (const [k, inp] of Object.entries(inputs)) {
    const raw = inp.value.trim();
    if (raw === "") { vals[k] = null; continue; }
    if (kind === "discrete") {
      vals[k] = raw.split(",").map((t) => { const n = Number(t); return Number.isFinite(n) ? n : t.trim(); });
    } else {
      const n = Number(raw);
      vals[k] = Number.isFinite(n) ? n : raw;
    }
  }
  if (kind === "fixed") return vals.value;
  if (kind === "quantiles") return vals;
  return { dist: kind, ...vals };
}

function paramInputs(ctrl, kind, table, box) {
  box.replaceChildren();
  const inputs = {};
  const keys = kind === "fixed" ? ["value"] : Object.keys(table).filter((k) => k !== "dist");
  for (const k of keys) {
    let v = table[k];
    if (Array.isArray(v)) v = v.map((x) => Number(Number(x).toPrecision(6))).join(", ");
    else if (typeof v === "number") v = String(Number(v.toPrecision(6)));
    else if (v === undefined || v === null) v = "";
    const inp = el("input", { type: "text", value: v, spellcheck: false, "data-param": k });
    inp.setAttribute("inputmode", kind === "discrete" ? "text" : "decimal");
    inp.setAttribute("aria-label", `${ctrl.field} ${k}`);
    inputs[k] = inp;
    box.appendChild(el("label", { class: "param" }, [el("span", { text: k }), inp]));
  }
  return inputs;
}

function buildControl(ctrl) {
  const wrap = el("div", { class: "control", "data-field": ctrl.field });
  const scope = ctrl.scope === "shared" ? "" : " (this option)";
  wrap.appendChild(el("div", { class: "name", text: ctrl.field + scope }));
  const err = el("div", { class: "error", role: "alert" });
  const desc = el("div", { class: "describe", text: ctrl.describe });
  if (ctrl.tied_to) {
    desc.textContent = `same as ${ctrl.tied_to} in every draw`;
    const btn = el("button", { type: "button", text: "give it its own value", class: "link" });
    btn.addEventListener("click", () => submit(ctrl, ctrl.table, wrap));
    wrap.append(desc, btn, err);
    return wrap;
  }
  const select = el("select", { class: "dist" });
  select.setAttribute("aria-label", `${ctrl.field} distribution`);
  for (const kind of Object.keys(ctrl.alternatives)) {
    select.appendChild(el("option", { value: kind, text: kind }));
  }
  select.value = ctrl.kind;
  const box = el("div", { class: "params" });
  let inputs = paramInputs(ctrl, ctrl.kind, ctrl.unset ? { value: "" } : ctrl.table, box);
  let kind = ctrl.kind;
  const send = () => submit(ctrl, tableFrom(ctrl, kind, inputs), wrap);
  const hook = () => {
    for (const inp of Object.values(inputs)) {
      inp.addEventListener("change", send);
      inp.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); inp.blur(); } });
    }
  };
  hook();
  select.addEventListener("change", () => {
    kind = select.value;
    inputs = paramInputs(ctrl, kind, ctrl.alternatives[kind], box);
    hook();
    send();
  });
  wrap.append(el("div", { class: "row" }, [select, box]), desc, err);
  return wrap;
}

function renderControls(st) {
  const key = `${st.current_version}|${S.option}`;
  if (S.controlsKey === key) return;
  S.controlsKey = key;
  const pane = $("controls");
  pane.replaceChildren();
  let section = null;
  let group = null;
  for (const ctrl of st.controls[S.option] || []) {
    if (ctrl.section !== section) {
      section = ctrl.section;
      group = el("fieldset", {}, [el("legend", { text: section })]);
      pane.appendChild(group);
    }
    group.appendChild(buildControl(ctrl));
  }
}

async function submit(ctrl, value, wrap) {
  const err = wrap.querySelector(".error");
  const option = ctrl.scope === "option" ? S.option : null;
  S.busy += 1; setStatus();
  wrap.classList.add("pending");
  try {
    const r = await api("POST", "/api/edit", { field: ctrl.field, value, option });
    if (r.status === 200) {
      err.textContent = "";
      render(r.data);
    } else {
      err.textContent = r.data.error || `HTTP ${r.status}`;
      wrap.classList.add("invalid");
    }
  } catch (e) {
    err.textContent = `the server did not answer (${e})`;
  } finally {
    S.busy -= 1;
    wrap.classList.remove("pending");
    setStatus();
  }
}

// ------------------------------------------------------------------ render
function render(st) {
  if (S.state && st.version < S.state.version) return;  // an older answer arrived late
  S.state = st;
  const sel = $("option-select");
  if (!S.option || !st.options.includes(S.option)) S.option = st.recommended;
  const labels = st.options.map((o) => o + (o === st.recommended ? " (recommended)" : ""));
  if (sel.options.length !== st.options.length ||
      [...sel.options].some((o, i) => o.textContent !== labels[i])) {
    sel.replaceChildren(...st.options.map((o, i) => el("option", { value: o, text: labels[i] })));
  }
  sel.value = S.option;
  if (!$("spec-path").value) $("spec-path").value = st.default_spec_path;
  if (!$("report-path").value) $("report-path").value = st.default_report_path;
  const view = st.views[S.option];
  renderHeadline(view, st);
  renderComparison(st);
  renderCharts(view, st);
  renderControls(st);
  setStatus();
  schedulePoll();
}

function schedulePoll() {
  clearTimeout(S.pollTimer);
  const st = S.state;
  if (st && !st.refined && st.refining) S.pollTimer = setTimeout(poll, 400);
}

async function poll() {
  try {
    const r = await api("GET", `/api/state?version=${S.state.version}`);
    if (r.status === 200) {
      if (r.data.version > S.state.version || (r.data.version === S.state.version && r.data.refined !== S.state.refined)) {
        render(r.data);
        return;
      }
      if (r.data.refine_error) { S.state.refine_error = r.data.refine_error; S.state.refining = false; setStatus(); return; }
    }
  } catch (e) { /* the server is busy or restarting: try again */ }
  schedulePoll();
}

async function save(kind) {
  const msg = $("save-message");
  const input = kind === "spec" ? $("spec-path") : $("report-path");
  const url = kind === "spec" ? "/api/save-spec" : "/api/save-report";
  msg.textContent = kind === "spec" ? "saving…" : "running the full study and writing the report…";
  msg.className = "";
  let r = await api("POST", url, { path: input.value, overwrite: false });
  if (r.status === 409 && window.confirm(r.data.error)) {
    r = await api("POST", url, { path: input.value, overwrite: true });
  }
  if (r.status === 200) {
    msg.textContent = r.data.message;
    msg.dataset.path = r.data.path;
    msg.className = "ok";
  } else {
    msg.textContent = r.status === 409 ? "not saved" : (r.data.error || `HTTP ${r.status}`);
    msg.className = "bad";
  }
}

async function start() {
  $("option-select").addEventListener("change", (e) => {
    S.option = e.target.value;
    render(S.state);
  });
  $("reset").addEventListener("click", async () => {
    S.busy += 1; setStatus();
    const r = await api("POST", "/api/reset", {});
    S.busy -= 1;
    if (r.status === 200) render(r.data); else setStatus();
  });
  $("save-spec").addEventListener("click", () => save("spec"));
  $("save-report").addEventListener("click", () => save("report"));
  const r = await api("GET", "/api/state");
  if (r.status === 200) render(r.data);
  else $("status").textContent = r.data.error || `HTTP ${r.status}`;
}

document.addEventListener("DOMContentLoaded", start);
