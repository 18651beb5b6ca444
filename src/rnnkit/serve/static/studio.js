// rnnkit studio: the page. Plain JavaScript, no libraries, nothing from the internet.
"use strict";

const $ = (selector) => document.querySelector(selector);
const state = { runs: [], run: null, curves: [], next: 0, poll: null, source: null };

function showError(message) {
  const box = $("#error");
  box.textContent = message;
  box.hidden = !message;
}

async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

// A question about the selected run, answered by api(); null when the answer no longer
// belongs on the page: another run was selected meanwhile, or the same view asked again (a
// slow answer must not overwrite a newer one, nor draw one run's answer under another's name).
const asked = {};

async function askRun(path, options) {
  const id = state.run, view = path.split("?")[0];
  const token = (asked[view] = (asked[view] || 0) + 1);
  const current = () => id === state.run && token === asked[view];
  let result;
  try {
    result = await api(`/api/runs/${encodeURIComponent(id)}/${path}`, options);
  } catch (error) {
    if (current()) throw error;
    return null;
  }
  return current() ? result : null;
}

function escapeText(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

// -- runs ------------------------------------------------------------------------------------

function describeModel(model) {
  const parts = [model.cell, model.num_layers && `${model.num_layers}x${model.hidden_size}`];
  return parts.filter(Boolean).join(" ");
}

// A figure that is null (NaN or an infinity: a diverged run) shows as n/a, not as 0.0000.
function describeBest(best) {
  const figure = (v) => (v === null || v === undefined ? "n/a" : Number(v).toFixed(4));
  return Object.entries(best).map(([k, v]) => `${k} ${figure(v)}`).join(", ");
}

async function loadRuns() {
  const { runs } = await api("/api/runs");
  state.runs = runs;
  const select = $("#run");
  select.innerHTML = "";
  const body = $("#run-table tbody");
  body.innerHTML = "";
  for (const run of runs) {
    const task = run.gone ? "gone" : run.task;  // its folder was moved or deleted
    select.add(new Option(`${run.id} (${task})`, run.id));
    const row = body.insertRow();
    row.dataset.id = run.id;
    for (const cell of [run.id, task, describeModel(run.model), run.steps ?? "",
                        describeBest(run.best)]) {
      row.insertCell().textContent = cell;
    }
    row.addEventListener("click", () => selectRun(run.id));
  }
  if (runs.length) selectRun(runs[0].id);
  else showError("no runs: start rnnkit serve with run directories or --runs-dir");
}

function selectRun(id) {
  state.run = id;
  $("#run").value = id;
  for (const row of document.querySelectorAll("#run-table tbody tr")) {
    row.classList.toggle("selected", row.dataset.id === id);
  }
  stopWriting();  // the text streaming in is another run's
  state.curves = [];
  state.next = 0;
  const neuronForm = $("#neuron-form");  // another run has other cells: start from the first
  fillChoices(neuronForm.layer, [[0, "layer 0"]], 0);
  fillChoices(neuronForm.kind, [["h", "h"]], "h");
  const task = (state.runs.find((r) => r.id === id) || {}).task;
  const chars = task === "charlm";
  for (const label of document.querySelectorAll(".caption-only")) label.hidden = task !== "caption";
  $("#validation-what").textContent = chars ? "start" : "example";  // a char model: a slice
  $("#validation-length").hidden = !chars;
  $("#validation-note").textContent = "";
  clearInterval(state.poll);
  pollCurves();
  const run = state.runs.find((r) => r.id === id);
  if (run && run.training) state.poll = setInterval(pollCurves, 3000);
  showError("");
}

async function pollCurves() {
  const id = state.run;
  try {
    const { records, next } = await api(`/api/runs/${encodeURIComponent(id)}/curves?since=${state.next}`);
    if (id !== state.run) return;
    state.curves.push(...records);
    state.next = next;
    drawCurves();
  } catch (error) {
    showError(error.message);
  }
}

function drawCurves() {
  const svg = $("#curve");
  const train = state.curves.filter((r) => r.kind === "train" && r.loss !== undefined);
  const evals = state.curves.filter((r) => r.kind === "eval");
  const valKey = evals.length ? Object.keys(evals[0]).find((k) => k.startsWith("val_")) : null;
  const series = [
    { points: train.map((r) => [r.step, r.loss]), colour: "#4a7bd0", name: "training loss" },
    { points: valKey ? evals.map((r) => [r.step, r[valKey]]) : [], colour: "#d0584a", name: valKey },
  ].filter((s) => s.points.length);
  const all = series.flatMap((s) => s.points);
  $("#curve-note").textContent = all.length ? "" : "(no records yet)";
  if (!all.length) { svg.innerHTML = ""; return; }
  const [W, H, pad] = [640, 260, 40];
  const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs) || 1];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const sx = (x) => pad + ((x - x0) / (x1 - x0 || 1)) * (W - 2 * pad);
  const sy = (y) => H - pad + ((y0 - y) / (y1 - y0 || 1)) * (H - 2 * pad);
  let html = `<text x="${pad}" y="${pad - 10}">${y1.toFixed(3)}</text>` +
    `<text x="${pad}" y="${H - 10}">${y0.toFixed(3)} · steps ${x0}–${x1}</text>`;
  series.forEach((s, i) => {
    const path = s.points.map((p, j) => `${j ? "L" : "M"}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join("");
    html += `<path d="${path}" fill="none" stroke="${s.colour}" stroke-width="1.5"/>` +
      `<text x="${W - 200}" y="${20 + 14 * i}" fill="${s.colour}">${escapeText(s.name)}</text>`;
  });
  svg.innerHTML = html;
}

// -- write -----------------------------------------------------------------------------------

function shade(p) {
  // likely characters plain, unlikely ones darker orange
  const alpha = Math.min(0.85, (1 - p) * 0.85);
  return `rgba(230, 120, 20, ${alpha.toFixed(3)})`;
}

function startWriting(event) {
  event.preventDefault();
  stopWriting();
  const form = new FormData($("#write-form"));
  const query = new URLSearchParams();
  for (const [key, value] of form.entries()) if (value !== "") query.set(key, value);
  const out = $("#written");
  out.innerHTML = escapeText(form.get("prime"));
  showError("");
  const url = `/api/runs/${encodeURIComponent(state.run)}/write?${query}`;
  // EventSource hides the error body: ask once with fetch when the stream fails to open
  const source = new EventSource(url);
  state.source = source;
  source.onmessage = (message) => {
    const said = JSON.parse(message.data);
    const span = document.createElement("span");
    span.textContent = said.char;
    span.style.background = shade(said.p);
    span.dataset.top = said.top.map(([c, p]) => `${JSON.stringify(c)} ${p.toFixed(3)}`).join("\n");
    span.dataset.p = said.p;
    out.appendChild(span);
  };
  source.addEventListener("done", stopWriting);
  source.onerror = async () => {
    const opened = source.readyState !== EventSource.CLOSED && out.children.length;
    stopWriting();
    if (!opened) {
      try { await api(url); } catch (error) { showError(error.message); }
    }
  };
}

function stopWriting() {
  if (state.source) state.source.close();
  state.source = null;
}

function hover(event) {
  const tip = $("#tooltip");
  const span = event.target.closest("#written span");
  if (!span) { tip.hidden = true; return; }
  tip.textContent = `p = ${Number(span.dataset.p).toFixed(3)}\n${span.dataset.top}`;
  tip.style.whiteSpace = "pre";
  tip.style.left = `${event.clientX + 12}px`;
  tip.style.top = `${event.clientY + 12}px`;
  tip.hidden = false;
}

// -- neurons ---------------------------------------------------------------------------------

function colour(value, scale) {
  const v = Math.max(-1, Math.min(1, value / (scale || 1)));
  return v >= 0 ? `rgba(220, 50, 40, ${(v * 0.8).toFixed(3)})`
                : `rgba(40, 90, 220, ${(-v * 0.8).toFixed(3)})`;
}

async function traceUnits(event, pick) {
  if (event) event.preventDefault();
  const form = $("#neuron-form");
  if (pick) {
    form.layer.value = pick.layer;
    form.kind.value = pick.kind;
    form.unit.value = pick.unit;
  }
  const body = {
    text: form.text.value,
    layer: Number(form.layer.value || 0), kind: form.kind.value || "h", unit: Number(form.unit.value),
    ...testImage(form),
  };
  try {
    const result = await askRun("neurons", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    if (!result) return;  // a question since, or another run
    showError("");
    fillChoices(form.layer, result.cells.map((name, k) => [k, name]), result.activation.layer);
    fillChoices(form.kind, result.kinds.map((kind) => [kind, kind]), result.activation.kind);
    drawColoured(result);
    drawFeatures(result.features, result.cells);
    $("#features-note").textContent = result.features_note || "";
    $("#features-note").hidden = !result.features_note;
    drawSaturation(result.saturation, result.cells);
  } catch (error) {
    showError(error.message);
  }
}

function describePiece(piece) {
  if (piece.unit === "character") {
    const end = piece.start + piece.length;
    const unknown = piece.unknown ? `; ${piece.unknown} never seen in training, shown as \ufffd` : "";
    return `characters ${piece.start}..${end - 1} of the ${piece.size} of the validation split` +
      ` (${piece.offset} into the text)${unknown}`;
  }
  const truth = piece.label !== undefined ? `label ${piece.label}`
    : piece.tags ? `tags ${piece.tags.join(" ")}` : `translation: ${piece.target}`;
  return `validation example ${piece.start} (of ${piece.size}): ${truth}`;
}

async function takeValidation(event) {
  event.preventDefault();
  const form = $("#validation-form");
  const query = new URLSearchParams();
  if (form.start.value !== "") query.set("start", form.start.value);  // else: at random
  else if (form.seed.value !== "") query.set("seed", form.seed.value);
  if (!$("#validation-length").hidden) query.set("length", form.length.value);
  try {
    const piece = await askRun(`validation?${query}`);
    if (!piece) return;
    const seed = piece.seed === null ? "" : `, seed ${piece.seed}`;
    $("#validation-note").textContent = describePiece(piece) + seed;
    $("#neuron-form").text.value = piece.text;
    await traceUnits();
  } catch (error) {
    showError(error.message);
  }
}

function testImage(form) {
  // a caption run's decoder writes the text for one of its test images
  return form.querySelector(".caption-only").hidden ? {} : { test_index: Number(form.test_index.value) };
}

function fillChoices(select, choices, chosen) {
  select.innerHTML = "";
  for (const [value, label] of choices) select.add(new Option(label, value));
  select.value = chosen;
}

function drawPieces(out, pieces, level, paint) {
  // characters as written; tokens with a space between them
  out.innerHTML = "";
  pieces.forEach((piece, t) => {
    if (t && level !== "char") out.appendChild(document.createTextNode(" "));
    const span = document.createElement("span");
    span.textContent = piece;
    paint(span, t);
    out.appendChild(span);
  });
}

function drawColoured(result) {
  const values = result.activation.values;
  const scale = result.activation.kind === "h" ? 1 : Math.max(...values.map(Math.abs));
  drawPieces($("#coloured"), result.pieces, result.level, (span, t) => {
    span.style.background = colour(values[t], scale);
    span.title = values[t].toFixed(3);
  });
}

function drawFeatures(features, cells) {
  const body = $("#features tbody");
  body.innerHTML = "";
  for (const f of features) {
    const row = body.insertRow();
    for (const cell of [f.description, cells[f.layer], f.kind, f.unit, f.r.toFixed(3)]) {
      row.insertCell().textContent = cell;
    }
    row.addEventListener("click", () => traceUnits(null, f));
  }
}

function drawSaturation(layers, cells) {
  const box = $("#saturation");
  box.innerHTML = layers.length ? "" : "<p class='hint'>this cell has no gates</p>";
  const size = 180;
  layers.forEach((gates, layer) => {
    for (const [gate, { left, right }] of Object.entries(gates)) {
      const dots = left.map((x, i) =>
        `<circle cx="${(20 + x * (size - 30)).toFixed(1)}" cy="${(size - 20 - right[i] * (size - 30)).toFixed(1)}" r="2" fill="#4a7bd0" fill-opacity="0.6"/>`).join("");
      box.insertAdjacentHTML("beforeend",
        `<div class="gate"><svg width="${size}" height="${size}">` +
        `<line x1="20" y1="10" x2="${size - 10}" y2="${size - 20}" stroke="#ccc"/>` +
        `${dots}<text x="20" y="${size - 5}">left-saturated →</text></svg>` +
        `<div>${escapeText(cells[layer])}, ${gate} gate</div></div>`);
    }
  });
}

// -- gradients -------------------------------------------------------------------------------

const CELL_COLOURS = ["#3a6fd0", "#d0342c", "#2e9a4a", "#9a4ad0", "#d08a2c", "#2cb0d0"];

async function drawGradients(event) {
  event.preventDefault();
  const form = $("#gradient-form");
  try {
    const result = await askRun("gradients", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text: form.text.value, loss: form.loss.value, ...testImage(form) }),
    });
    if (!result) return;  // a question since, or another run
    showError("");
    plotGradients(result);
  } catch (error) {
    showError(error.message);
  }
}

function plotGradients(result) {
  const [W, H, pad] = [900, 300, 50];
  const T = result.pieces.length;
  const curves = [];
  result.norms.forEach((parts, k) => Object.entries(parts).forEach(([part, values]) =>
    curves.push({ name: `${result.cells[k]} ${part}`, part, colour: CELL_COLOURS[k % CELL_COLOURS.length],
                  points: values.map((v, t) => [t, v]).filter(([, v]) => v > 0).map(([t, v]) => [t, Math.log10(v)]) })));
  const ys = curves.flatMap((c) => c.points.map((p) => p[1]));
  const [y0, y1] = ys.length ? [Math.floor(Math.min(...ys)), Math.ceil(Math.max(...ys))] : [0, 1];
  const sx = (t) => pad + (T > 1 ? t / (T - 1) : 0.5) * (W - 2 * pad);
  const sy = (y) => H - pad + ((y0 - y) / (y1 - y0 || 1)) * (H - 2 * pad);
  let svg = `<text x="4" y="${sy(y1) + 4}">1e${y1}</text><text x="4" y="${sy(y0) + 4}">1e${y0}</text>` +
    `<text x="${pad}" y="${H - 8}">step t (the input read) →</text>`;
  curves.forEach((c, i) => {
    const d = c.points.map(([t, y], j) => `${j ? "L" : "M"}${sx(t).toFixed(1)},${sy(y).toFixed(1)}`).join("");
    const dash = c.part === "h" ? "" : ' stroke-dasharray="5,3"';
    svg += `<path class="flow" d="${d}" fill="none" stroke="${c.colour}" stroke-width="1.6"${dash}><title>${escapeText(c.name)}</title></path>` +
      `<text x="${W - 210}" y="${18 + 14 * i}" style="fill:${c.colour}">${escapeText(c.name)}</text>`;
  });
  const every = Math.max(1, Math.ceil(T / 40));
  result.pieces.forEach((piece, t) => {
    if (t % every === 0) svg += `<text class="piece" x="${sx(t) - 3}" y="${H - pad + 14}">${escapeText(piece === "\n" ? "⏎" : piece.slice(0, 8))}</text>`;
  });
  const horizons = result.horizons ? result.horizons.map((parts, k) =>
    Object.entries(parts).map(([part, d]) => `${result.cells[k]} ${part}: ${d} steps`).join(", ")).join("; ") : "";
  $("#gradient-note").textContent = `loss ${result.loss.toFixed(4)} (${result.how === "last" ? "at the last step" : "summed over every step"})` +
    (horizons ? `; memory horizon (norm ≥ 1e-3 of the last step's): ${horizons}` : "");
  $("#gradient-plot").innerHTML = svg;
  const first = result.norms[0].h || Object.values(result.norms[0])[0];
  const logs = first.map((v) => (v > 0 ? Math.log10(v) : null));
  const top = Math.max(...logs.filter((v) => v !== null));
  drawPieces($("#gradient-text"), result.pieces, result.task === "charlm" ? "char" : "word", (span, t) => {
    const strength = logs[t] === null ? 0 : Math.max(0, 1 + (logs[t] - top) / 4);  // 4 decades
    span.style.background = `rgba(40, 90, 220, ${(0.8 * strength).toFixed(3)})`;
    span.title = first[t] === null ? "" : first[t].toExponential(2);
  });
}

// -- predict ---------------------------------------------------------------------------------

function heat(value) {
  return `rgba(40, 90, 220, ${(Math.min(1, value) * 0.9).toFixed(3)})`;
}

function table(rows) {
  return `<table class="grid">${rows.map((r) => `<tr>${r.join("")}</tr>`).join("")}</table>`;
}

function cell(text, value, title) {
  const style = value === undefined ? "" : ` style="background:${heat(value)}"`;
  return `<td${style}${title ? ` title="${escapeText(title)}"` : ""}>${escapeText(String(text))}</td>`;
}

function drawTranslation(result) {
  let html = `<p class="said">${escapeText(result.text)}</p>`;
  if (result.unknown.length) html += `<p class="hint">unknown words, read as &lt;unk&gt;: ${escapeText(result.unknown.join(", "))}</p>`;
  if (!result.weights) return html + "<p class='hint'>this model has no attention</p>";
  const head = [cell(""), ...result.source.map((w) => `<th>${escapeText(w)}</th>`)];
  const rows = result.output.map((word, i) => [`<th>${escapeText(word)}</th>`,
    ...result.weights[i].map((w, j) => cell("", w, `${word} ← ${result.source[j]}: ${w.toFixed(3)}`))]);
  return html + `<div id="attention">${table([head, ...rows])}</div>`;
}

function drawClassification(result) {
  const labels = result.labels.map(([label, p]) =>
    `<div class="bar"><span style="width:${(p * 300).toFixed(0)}px"></span> ${escapeText(label)} ${p.toFixed(3)}</div>`).join("");
  const head = [cell(""), ...result.pieces.map((piece) => `<th>${escapeText(piece)}</th>`)];
  const rows = Object.entries(result.evolution).map(([label, values]) =>
    [`<th>${escapeText(label)}</th>`, ...values.map((p) => cell(p.toFixed(2), p))]);
  return `<div id="labels">${labels}</div><h3>As the input is read</h3>${table([head, ...rows])}`;
}

function drawTagging(result) {
  const tokens = result.tokens.map((t) =>
    `<span class="token" title="${escapeText(t.top.map(([tag, p]) => `${tag} ${p.toFixed(3)}`).join("\n"))}">` +
    `${escapeText(t.token)}<small>${escapeText(t.tag)}</small></span>`).join(" ");
  const entities = (result.entities || []).map(([kind, words]) => `${escapeText(words)} (${escapeText(kind)})`);
  return `<p id="tagged">${tokens}</p>` + (entities.length ? `<p>entities: ${entities.join(", ")}</p>` : "");
}

function drawCaption(result) {
  const words = result.words.map((w, i) => `<span class="word" data-i="${i}">${escapeText(w)}</span>`);
  setTimeout(() => showAttention(result, null), 0);
  return `<p class="said">${escapeText(result.caption)}</p>` +
    `<div id="captioned"><canvas width="256" height="256"></canvas><p id="words">${words.join(" ")}</p></div>`;
}

function showAttention(result, index) {
  const canvas = $("#captioned canvas");
  const context = canvas.getContext("2d");
  const image = new Image();
  image.onload = () => {
    context.imageSmoothingEnabled = false;
    context.drawImage(image, 0, 0, canvas.width, canvas.height);
    if (index === null || !result.weights) return;
    const grid = result.weights[index];
    const top = Math.max(...grid.flat());
    const side = canvas.width / grid.length;
    grid.forEach((row, y) => row.forEach((w, x) => {
      context.fillStyle = `rgba(0, 0, 0, ${(0.85 * (1 - w / top)).toFixed(3)})`;
      context.fillRect(x * side, y * side, side, side);
    }));
  };
  image.src = result.image;
  for (const span of document.querySelectorAll("#words .word")) {
    span.onmouseenter = () => showAttention(result, Number(span.dataset.i));
  }
}

const FORECAST_COLOURS = { RNN: "#d0342c", naive: "#888", "seasonal naive": "#2e9a4a", arima: "#3a6fd0" };

function drawForecast(result) {
  const [W, H, pad] = [900, 320, 46];
  const n = result.first + result.values.length;
  const last = n + result.future.values.length - 1;
  const lines = Object.values(result.forecasts).flat(2);
  const ys = [...result.values, ...result.future.values, ...lines];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const sx = (i) => pad + ((i - result.first) / (last - result.first || 1)) * (W - 2 * pad);
  const sy = (y) => H - pad + ((y0 - y) / (y1 - y0 || 1)) * (H - 2 * pad);
  const path = (points) => points.map(([i, y], j) => `${j ? "L" : "M"}${sx(i).toFixed(1)},${sy(y).toFixed(1)}`).join("");
  const labels = [...result.labels, ...result.future.labels];
  let svg = `<path class="series" d="${path(result.values.map((v, k) => [result.first + k, v]))}" fill="none" stroke="#222" stroke-width="1.4"/>` +
    `<line x1="${sx(result.start - 0.5)}" x2="${sx(result.start - 0.5)}" y1="${pad}" y2="${H - pad}" stroke="#999" stroke-dasharray="3,3"/>` +
    `<text x="${sx(result.start - 0.5) + 4}" y="${pad + 10}">${result.part} part</text>`;
  Object.entries(result.forecasts).forEach(([name, rows], m) => {
    const colour = FORECAST_COLOURS[name] || "#a0a";
    const dash = name === "RNN" ? "" : ' stroke-dasharray="5,3"';
    rows.forEach((row, r) => {
      const t = result.origins[r];
      svg += `<path class="forecast" data-method="${escapeText(name)}" d="${path(row.map((v, h) => [t + h, v]))}" fill="none" stroke="${colour}" stroke-width="${name === "RNN" ? 2 : 1.2}"${dash}><title>${escapeText(name)} from ${escapeText(labels[t - result.first] || String(t))}</title></path>`;
    });
    svg += `<text x="${W - 170}" y="${20 + 14 * m}" style="fill:${colour}">${escapeText(name)}</text>`;
  });
  const future = [[n - 1, result.values[result.values.length - 1]], ...result.future.values.map((v, k) => [n + k, v])];
  svg += `<path class="future" d="${path(future)}" fill="none" stroke="${FORECAST_COLOURS.RNN}" stroke-width="2" stroke-dasharray="2,2"/>` +
    `<text x="${W - 170}" y="${20 + 14 * Object.keys(result.forecasts).length}" style="fill:${FORECAST_COLOURS.RNN}">RNN past the end</text>`;
  for (const i of [result.first, result.start, n - 1, last]) {
    svg += `<text x="${sx(i) - 20}" y="${H - pad + 16}">${escapeText(labels[i - result.first] || "")}</text>`;
  }
  svg += `<text x="4" y="${pad}">${y1.toFixed(1)}</text><text x="4" y="${H - pad}">${y0.toFixed(1)}</text>`;
  const rows = Object.entries(result.table).map(([name, s]) =>
    [`<th>${escapeText(name)}</th>`, `<td>${s.mae.toFixed(4)}</td>`, `<td>${s.rmse.toFixed(4)}</td>`]);
  return `<p class="said">${escapeText(result.data)}: ${result.horizon}-step forecasts (${escapeText(result.mode)} model) on the ${result.part} part, then ${result.future.values.length} steps past the end</p>` +
    `<svg id="forecast-plot" viewBox="0 0 ${W} ${H}" role="img" aria-label="forecasts">${svg}</svg>` +
    `<table id="forecast-table"><tr><th>method</th><th>MAE</th><th>RMSE</th></tr>${rows.map((r) => `<tr>${r.join("")}</tr>`).join("")}</table>`;
}

async function predictBody(form) {
  const run = state.runs.find((r) => r.id === state.run);
  if (run && run.task === "forecast") return { part: form.part.value, steps: Number(form.steps.value) };
  if (!run || run.task !== "caption") return { text: form.text.value, beam: Number(form.beam.value) };
  const file = form.image.files[0];
  if (!file) return { test_index: Number(form.test_index.value) };
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = "";
  bytes.forEach((b) => { binary += String.fromCharCode(b); });
  return { image: btoa(binary) };
}

async function predict(event) {
  event.preventDefault();
  const form = $("#predict-form");
  try {
    const result = await askRun("predict", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(await predictBody(form)),
    });
    if (!result) return;  // a question since, or another run
    showError("");
    const draw = { seq2seq: drawTranslation, classify: drawClassification, tag: drawTagging,
                   caption: drawCaption, forecast: drawForecast };
    $("#prediction").innerHTML = draw[result.task](result);
  } catch (error) {
    showError(error.message);
  }
}

// -- views -----------------------------------------------------------------------------------

function showView(name) {
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== name;
  for (const button of document.querySelectorAll("nav button")) {
    button.classList.toggle("active", button.dataset.view === name);
  }
}

document.querySelectorAll("nav button").forEach((b) => b.addEventListener("click", () => showView(b.dataset.view)));
$("#run").addEventListener("change", (e) => selectRun(e.target.value));
$("#write-form").addEventListener("submit", startWriting);
$("#stop").addEventListener("click", stopWriting);
$("#written").addEventListener("mousemove", hover);
$("#written").addEventListener("mouseleave", () => { $("#tooltip").hidden = true; });
$("#neuron-form").addEventListener("submit", traceUnits);
$("#validation-form").addEventListener("submit", takeValidation);
$("#predict-form").addEventListener("submit", predict);
$("#gradient-form").addEventListener("submit", drawGradients);
window.addEventListener("beforeunload", stopWriting);
loadRuns().catch((error) => showError(error.message));
