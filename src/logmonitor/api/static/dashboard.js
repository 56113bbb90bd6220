// LogMonitor dashboard: plain JavaScript, no dependencies. Data comes from the
// JSON API; live updates from /api/events (server-sent events). Every text from
// the server is inserted with textContent, never as HTML.
"use strict";

const MAX_FEED = 200;      // alerts kept in the live feed (oldest dropped)
const MAX_POINTS = 1800;   // chart observations kept (oldest dropped)
const REFRESH_MS = 5000;   // summary, patterns and sources are re-read this often
const COLORS = ["#38bdf8", "#a78bfa", "#34d399", "#fbbf24", "#f472b6", "#fb923c", "#60a5fa", "#2dd4bf"];

const state = { alerts: new Map(), points: [], status: null, threshold: 0.5, current: null };
const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

async function api(path, options = {}) {
  const response = await fetch(path, {
    credentials: "same-origin",
    ...options,
    headers: { "X-LogMonitor": "1", "Content-Type": "application/json", ...(options.headers || {}) },
  });
  if (response.status === 401) { window.location.reload(); throw new Error("logged out"); }
  const body = await response.json();
  if (!response.ok) throw new Error(body.error ? body.error.message : response.statusText);
  return body;
}

function ago(t) {
  const s = Math.max(0, Date.now() / 1000 - t);
  if (s < 60) return `${Math.round(s)}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return new Date(t * 1000).toLocaleDateString();
}
const clockTime = (t) => new Date(t * 1000).toLocaleTimeString([], { hour12: false });
const short = (path) => { const parts = path.split("/"); return parts.slice(-2).join("/"); };
const fmt = (n) => Number(n).toLocaleString("en-US");
function bytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"]; let u = -1;
  do { n /= 1024; u += 1; } while (n >= 1024 && u < units.length - 1);
  return `${n.toFixed(1)} ${units[u]}`;
}

// ------------------------------------------------------------------ status

function showStatus(status) {
  state.status = status;
  state.threshold = status.threshold;
  $("stat-lines").textContent = fmt(status.lines);
  $("stat-templates").textContent = fmt(status.templates);
  $("stat-windows").textContent = fmt(status.windows_scored);
  $("stat-threshold").textContent = status.threshold.toFixed(2);
  const model = $("model");
  model.dataset.ready = String(status.model_ready);
  model.textContent = status.model_ready ? "model ready" : `warming up · ${status.windows_learned} windows`;
}

function addPoint(point) {
  if (!point) return;
  const last = state.points[state.points.length - 1];
  if (last && last.time >= point.time) return;
  state.points.push(point);
  if (state.points.length > MAX_POINTS) state.points.splice(0, state.points.length - MAX_POINTS);
}

// ------------------------------------------------------------------ charts

function prepare(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio)) {
    canvas.width = Math.round(width * ratio); canvas.height = Math.round(height * ratio);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return { ctx, width, height };
}

function axes(ctx, box, yMax, yTicks, t0, t1, yFormat) {
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "#8b97b0"; ctx.strokeStyle = "rgba(139,151,176,.14)"; ctx.lineWidth = 1;
  for (let i = 0; i <= yTicks; i += 1) {
    const v = (yMax * i) / yTicks, y = box.y + box.h - (v / yMax) * box.h;
    ctx.beginPath(); ctx.moveTo(box.x, y + 0.5); ctx.lineTo(box.x + box.w, y + 0.5); ctx.stroke();
    ctx.textAlign = "right"; ctx.textBaseline = "middle"; ctx.fillText(yFormat(v), box.x - 6, y);
  }
  ctx.textBaseline = "top";
  const span = Math.max(t1 - t0, 1);
  for (let i = 0; i <= 4; i += 1) {
    const t = t0 + (span * i) / 4;
    ctx.textAlign = i === 0 ? "left" : i === 4 ? "right" : "center";
    ctx.fillText(clockTime(t), box.x + (box.w * i) / 4, box.y + box.h + 6);
  }
}

function thresholdLabel(ctx, box, ty) {
  // drawn last, so no point of the series covers it
  const label = `threshold ${state.threshold.toFixed(2)}`;
  ctx.font = "600 11px system-ui, sans-serif";
  const lw = ctx.measureText(label).width + 12;
  ctx.fillStyle = "#2a1422"; ctx.strokeStyle = "#f43f5e"; ctx.lineWidth = 1;
  ctx.beginPath(); ctx.roundRect(box.x + 8, ty - 9, lw, 18, 9); ctx.fill(); ctx.stroke();
  ctx.fillStyle = "#fda4af"; ctx.textAlign = "left"; ctx.textBaseline = "middle";
  ctx.fillText(label, box.x + 14, ty + 0.5);
}

function marks(ctx, x, y, t0) {
  // Every alert is a window at or above the threshold: mark each one, since the
  // observed series holds only the newest score at each poll and can miss them.
  state.alerts.forEach((alert) => {
    if (alert.window_end < t0) return;
    const px = x(alert.window_end), py = y(Math.min(alert.score, 1));
    ctx.beginPath(); ctx.arc(px, py, 5, 0, Math.PI * 2);
    ctx.fillStyle = alert.severity === "critical" ? "#f43f5e" : "#fbbf24"; ctx.fill();
    ctx.strokeStyle = "#0b1120"; ctx.lineWidth = 1.5; ctx.stroke();
  });
}

function drawScore() {
  const { ctx, width, height } = prepare($("score-chart"));
  const box = { x: 40, y: 10, w: width - 52, h: height - 34 };
  const scored = state.points.filter((p) => p.score !== null);
  const now = Date.now() / 1000;
  const first = state.points.length ? state.points[0].time : now - 300;
  const t0 = Math.min(first, now - 60), t1 = now;
  axes(ctx, box, 1, 4, t0, t1, (v) => v.toFixed(2));
  const x = (t) => box.x + ((t - t0) / Math.max(t1 - t0, 1)) * box.w;
  const y = (v) => box.y + box.h - v * box.h;
  // the threshold
  const ty = y(state.threshold);
  ctx.fillStyle = "rgba(244,63,94,.07)"; ctx.fillRect(box.x, box.y, box.w, ty - box.y);
  ctx.setLineDash([6, 5]); ctx.strokeStyle = "#f43f5e"; ctx.lineWidth = 1.5;
  ctx.beginPath(); ctx.moveTo(box.x, ty); ctx.lineTo(box.x + box.w, ty); ctx.stroke(); ctx.setLineDash([]);
  if (!scored.length) {
    marks(ctx, x, y, t0);
    ctx.fillStyle = "#8b97b0"; ctx.textAlign = "center"; ctx.textBaseline = "middle";
    ctx.font = "13px system-ui, sans-serif";
    const status = state.status, learned = status ? status.windows_learned : 0;
    const text = status && status.model_ready ? "Waiting for the next scored window"
      : `No window scored yet: the model is learning (${learned} windows so far)`;
    ctx.fillText(text, box.x + box.w / 2, box.y + box.h * 0.7);
    thresholdLabel(ctx, box, ty);
    return;
  }
  const gradient = ctx.createLinearGradient(0, box.y, 0, box.y + box.h);
  gradient.addColorStop(0, "rgba(56,189,248,.35)"); gradient.addColorStop(1, "rgba(56,189,248,0)");
  ctx.beginPath(); ctx.moveTo(x(scored[0].time), y(0));
  scored.forEach((p) => ctx.lineTo(x(p.time), y(p.score)));
  ctx.lineTo(x(scored[scored.length - 1].time), y(0)); ctx.closePath(); ctx.fillStyle = gradient; ctx.fill();
  ctx.beginPath(); scored.forEach((p, i) => (i ? ctx.lineTo(x(p.time), y(p.score)) : ctx.moveTo(x(p.time), y(p.score))));
  ctx.strokeStyle = "#38bdf8"; ctx.lineWidth = 2; ctx.stroke();
  scored.forEach((p) => {
    ctx.beginPath(); ctx.arc(x(p.time), y(p.score), 2, 0, Math.PI * 2); ctx.fillStyle = "#38bdf8"; ctx.fill();
  });
  marks(ctx, x, y, t0);
  thresholdLabel(ctx, box, ty);
}

function rates() {
  // Lines per second per source, in fixed bins: observations come at uneven
  // intervals (every poll, every page request), so raw deltas would be spiky.
  const points = state.points, series = new Map();
  if (points.length < 2) return series;
  const t0 = points[0].time, t1 = points[points.length - 1].time;
  const bin = Math.max(2, (t1 - t0) / 150), bins = Math.floor((t1 - t0) / bin) + 1;
  for (let i = 1; i < points.length; i += 1) {
    const a = points[i - 1], b = points[i], k = Math.min(bins - 1, Math.floor((b.time - t0) / bin));
    for (const [source, lines] of Object.entries(b.lines)) {
      if (!series.has(source)) series.set(source, new Array(bins).fill(0));
      if (a.lines[source] !== undefined) series.get(source)[k] += Math.max(0, lines - a.lines[source]);
    }
  }
  const out = new Map();
  series.forEach((sums, source) => out.set(source, sums.map((sum, k) => {
    const start = t0 + k * bin, end = Math.min(start + bin, t1);
    return { time: end, rate: end > start ? sum / (end - start) : 0 };
  })));
  return out;
}

function drawRate() {
  const { ctx, width, height } = prepare($("rate-chart"));
  const box = { x: 44, y: 10, w: width - 56, h: height - 34 };
  const series = rates();
  const now = Date.now() / 1000;
  const first = state.points.length ? state.points[0].time : now - 300;
  const t0 = Math.min(first, now - 60), t1 = now;
  let max = 1;
  series.forEach((s) => s.forEach((p) => { max = Math.max(max, p.rate); }));
  const nice = Math.pow(10, Math.floor(Math.log10(max))); max = Math.ceil(max / nice) * nice;
  axes(ctx, box, max, 4, t0, t1, (v) => (v >= 1000 ? `${(v / 1000).toFixed(1)}k` : v.toFixed(v < 10 ? 1 : 0)));
  const x = (t) => box.x + ((t - t0) / Math.max(t1 - t0, 1)) * box.w;
  const y = (v) => box.y + box.h - (v / max) * box.h;
  const legend = $("rate-legend"); legend.replaceChildren();
  [...series.keys()].sort().forEach((source, i) => {
    const color = COLORS[i % COLORS.length], points = series.get(source);
    ctx.beginPath(); points.forEach((p, j) => (j ? ctx.lineTo(x(p.time), y(p.rate)) : ctx.moveTo(x(p.time), y(p.rate))));
    ctx.strokeStyle = color; ctx.lineWidth = 1.8; ctx.stroke();
    const item = el("li"); const swatch = el("i"); swatch.style.background = color;
    const latest = points.length ? points[points.length - 1].rate : 0;
    item.append(swatch, el("span", null, `${short(source)} · ${latest.toFixed(1)}/s`)); legend.append(item);
  });
}

function spark(values) {
  const canvas = el("canvas", "spark"); canvas.width = 100; canvas.height = 20;
  canvas.style.width = "100px"; canvas.style.height = "20px";
  const ctx = canvas.getContext("2d"), max = Math.max(1, ...values), w = 100 / Math.max(values.length, 1);
  values.forEach((v, i) => {
    const h = (v / max) * 18; ctx.fillStyle = i === values.length - 1 ? "#f43f5e" : "#38bdf8";
    ctx.fillRect(i * w + 1, 20 - h, Math.max(w - 2, 1), Math.max(h, v ? 1 : 0));
  });
  return canvas;
}

// ------------------------------------------------------------------ alerts

function feedItem(alert) {
  const li = el("li", alert.status === "acked" ? "acked" : "");
  li.dataset.id = alert.id; li.dataset.testid = "alert";
  const file = el("span", "file"); file.append(el("span", "id", `#${alert.id}`), short(alert.filename));
  li.append(el("span", `badge ${alert.severity}`, alert.severity), el("span", "score", alert.score.toFixed(2)),
    file, el("span", "when", alert.status === "acked" ? "acked" : ago(alert.time)));
  li.title = `${alert.filename}: ${alert.lines} lines, ${alert.errors} errors`;
  li.addEventListener("click", () => { window.location.hash = `#/alerts/${alert.id}`; });
  return li;
}

function renderFeed(freshId) {
  const feed = $("feed");
  const alerts = [...state.alerts.values()].sort((a, b) => b.id - a.id).slice(0, MAX_FEED);
  feed.replaceChildren(...alerts.map((a) => {
    const li = feedItem(a); if (a.id === freshId) li.classList.add("fresh"); return li;
  }));
  $("feed-empty").hidden = alerts.length > 0;
  const open = alerts.filter((a) => a.status === "open").length;
  $("alert-count").textContent = alerts.length ? `${open} open · ${alerts.length} shown` : "none yet";
}

function remember(alert) {
  state.alerts.set(alert.id, alert);
  if (state.alerts.size > MAX_FEED) {
    const oldest = Math.min(...state.alerts.keys()); state.alerts.delete(oldest);
  }
}

async function loadAlerts() {
  const page = await api(`/api/alerts?limit=${MAX_FEED}`);
  state.alerts.clear(); page.alerts.forEach(remember); renderFeed();
}

// ------------------------------------------------------------------ tables

function row(cells) {
  const tr = el("tr");
  cells.forEach(([text, cls, title]) => { const td = el("td", cls, text); if (title) td.title = title; tr.append(td); });
  return tr;
}

async function loadTables() {
  const [summary, patterns, sources] = await Promise.all([
    api("/api/summary?limit=8"), api("/api/patterns?limit=8"), api("/api/sources?limit=50")]);
  $("errors").replaceChildren(...summary.error_types.map((e) => {
    const tr = row([[e.error_type, "mono", e.example], [fmt(e.count), "num"]]);
    const td = el("td"); td.append(spark(e.trend)); tr.append(td); return tr;
  }));
  $("errors-empty").hidden = summary.error_types.length > 0;
  $("patterns").replaceChildren(...patterns.patterns.map((p) =>
    row([[p.template, "mono", p.examples.join("\n")], [fmt(p.count), "num"], [ago(p.last_seen), ""]])));
  $("patterns-empty").hidden = patterns.patterns.length > 0;
  const series = rates();
  $("sources").replaceChildren(...sources.sources.map((s) => {
    const r = series.get(s.source); const rate = r && r.length ? r[r.length - 1].rate : 0;
    return row([[s.source, "mono", s.last_error || s.path], [fmt(s.lines), "num"], [rate.toFixed(1), "num"],
      [bytes(s.lag_bytes), "num"], [fmt(s.rotations), "num"], [fmt(s.errors), "num", s.last_error]]);
  }));
}

// ------------------------------------------------------------------ alert page

function showAlert(alert) {
  state.current = alert;
  $("a-title").textContent = `Alert #${alert.id}`;
  $("a-sub").textContent = `${alert.filename} · window ${clockTime(alert.window_start)}–${clockTime(alert.window_end)} · ${alert.detector}`;
  $("a-score").textContent = alert.score.toFixed(3);
  $("a-scorebox").className = `score-box ${alert.severity}`;
  const sev = $("a-severity"); sev.className = `badge ${alert.severity}`; sev.textContent = alert.severity;
  const st = $("a-status"); st.className = `badge ${alert.status}`; st.dataset.testid = "alert-status";
  st.textContent = alert.status === "acked" ? `acked by ${alert.acked_by}` : "open";
  const fb = $("a-feedback");
  fb.hidden = !alert.feedback;
  if (alert.feedback) fb.textContent = alert.feedback.verdict === "true_positive" ? "real problem" : "false alarm";
  $("a-explain").replaceChildren(...alert.explanation.map((t) => el("li", null, t)));
  $("a-templates").replaceChildren(...(alert.templates.length ? alert.templates : ["(none recorded)"]).map((t) => el("li", null, t)));
  $("a-samples").textContent = alert.sample_lines.length
    ? alert.sample_lines.map((s) => `${short(s.path)}:${s.line_number}  ${s.text}`).join("\n") : "(no sample lines)";
  $("btn-ack").disabled = alert.status === "acked";
  $("btn-ack").textContent = alert.status === "acked" ? "Acknowledged" : "Acknowledge";
}

async function act(path, body, message) {
  const flash = $("a-flash"); flash.className = "flash"; flash.textContent = "…";
  try {
    const alert = await api(path, { method: "POST", body: JSON.stringify(body) });
    remember(alert); renderFeed(); showAlert(alert); flash.textContent = message;
  } catch (error) { flash.className = "flash bad"; flash.textContent = error.message; }
}

async function route() {
  const match = window.location.hash.match(/^#\/alerts\/(\d+)$/);
  $("overview").hidden = Boolean(match); $("alert-page").hidden = !match;
  if (!match) { window.requestAnimationFrame(draw); return; }
  $("a-flash").textContent = "";
  try { showAlert(await api(`/api/alerts/${match[1]}`)); } catch (error) {
    $("a-title").textContent = "Alert not found"; $("a-sub").textContent = error.message;
  }
}

// ------------------------------------------------------------------ live

function connect() {
  const live = $("live");
  const source = new EventSource("/api/events");
  source.addEventListener("open", () => { live.dataset.state = "live"; live.textContent = "live"; loadAlerts().catch(() => {}); });
  source.addEventListener("error", () => { live.dataset.state = "down"; live.textContent = "reconnecting"; });
  source.addEventListener("stats", (event) => {
    const data = JSON.parse(event.data); showStatus(data.status); data.points.forEach(addPoint); draw();
  });
  source.addEventListener("alert", (event) => {
    const alert = JSON.parse(event.data); remember(alert); renderFeed(alert.id); draw();
    loadTables().catch(() => {});
  });
}

function draw() {
  if ($("overview").hidden) return;
  drawScore(); drawRate();
}

async function start() {
  $("btn-ack").addEventListener("click", () => act(`/api/alerts/${state.current.id}/ack`, { by: "dashboard" }, "Acknowledged."));
  $("btn-tp").addEventListener("click", () => act(`/api/alerts/${state.current.id}/feedback`, { verdict: "true_positive", note: $("a-note").value }, "Thanks: marked as a real problem."));
  $("btn-fp").addEventListener("click", () => act(`/api/alerts/${state.current.id}/feedback`, { verdict: "false_positive", note: $("a-note").value }, "Thanks: marked as a false alarm."));
  window.addEventListener("hashchange", route);
  window.addEventListener("resize", draw);
  const stats = await api("/api/stats?limit=1800");
  showStatus(stats.status); stats.points.forEach(addPoint);
  await Promise.all([loadAlerts(), loadTables()]);
  route(); connect();
  setInterval(() => loadTables().catch(() => {}), REFRESH_MS);
  setInterval(() => { $("clock").textContent = new Date().toLocaleTimeString([], { hour12: false }); draw(); }, 1000);
}

start().catch((error) => { $("live").dataset.state = "down"; $("live").textContent = error.message; });
