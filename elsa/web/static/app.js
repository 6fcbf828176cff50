// The ELSA labelling page. Plain JavaScript, no dependencies: the machine may be offline.
"use strict";

const params = new URLSearchParams(location.search);
if (params.get("token")) {
  sessionStorage.setItem("elsa_token", params.get("token"));
  history.replaceState(null, "", "/");
}
const TOKEN = sessionStorage.getItem("elsa_token");
const $ = (id) => document.getElementById(id);

const S = {
  view: "batch", items: [], focus: 0, selected: new Set(), undo: [], state: null,
  similarOf: null, found: null, images: true, lastRounds: "",
  version: 0,  // bumped on every local change; a state fetched before one is stale for the grid
  inflight: new Map(),  // item id -> label of answers sent but not yet confirmed
};

$("user").value = localStorage.getItem("elsa_user") || "";
// The sticky header's height, so that a tile scrolled into view lands below it (app.css).
new ResizeObserver(() => document.documentElement.style.setProperty(
  "--header-h", `${document.querySelector("header").offsetHeight}px`)).observe(document.querySelector("header"));
$("user").addEventListener("change", () => localStorage.setItem("elsa_user", $("user").value.trim()));

function headers() {
  const h = { "Content-Type": "application/json", "X-Elsa-Client": "page" };
  if (TOKEN) h["X-Elsa-Token"] = TOKEN;
  const user = $("user").value.trim();
  if (user) h["X-Elsa-User"] = user;
  return h;
}

let toastTimer = null;
function toast(text) {
  const t = $("toast");
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 5000);
}

async function call(method, path, body) {
  let res;
  try {
    res = await fetch(path, { method, headers: headers(), body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    toast("The labeller cannot be reached; your saved answers are safe. Retrying…");
    return null;
  }
  const doc = await res.json().catch(() => ({}));
  if (!res.ok) {
    toast(doc.error || `error ${res.status}`);
    if (res.status === 409) refresh();
    return null;
  }
  return doc;
}

// --- state and polling -------------------------------------------------------------

// wait: a long poll (the server answers when the next batch is ready), used while the search runs.
async function refresh(wait = false) {
  if (wait && S.longPoll) return;  // one long poll at a time: the one on its way reschedules when it returns
  const version = S.version;
  if (wait) S.longPoll = true;
  let doc;
  try {
    doc = await call("GET", wait ? "/api/state?wait=20" : "/api/state");
  } finally {
    if (wait) S.longPoll = false;
  }
  if (!doc) return;
  S.state = doc;
  S.images = doc.images;
  S.texts = !!doc.texts;
  document.body.classList.toggle("texts", S.texts);
  $("full-what").textContent = S.texts ? "whole text" : "full image";
  const p = doc.progress;
  $("target").textContent = p.target || "the target";
  $("target").title = doc.described ? "the search also learns from these words, as one more example of what you seek" : "";
  $("found").textContent = p.found;
  $("labels").textContent = p.budget === null ? p.labels : `${p.labels} / ${p.budget}`;
  $("labels-note").textContent = p.budget === null ? "labels spent" : "labels spent / budget";
  $("labels-box").title = "answers to the items the search proposed, and second answers to \"please check\" cards" +
    (p.stop || p.audit ? "; answers to random checks alone are not counted here" : "");
  $("epoch").textContent = p.epochs === null ? `${p.epoch}` : `${p.epoch} / ${p.epochs}`;
  $("seeds").textContent = p.seeds;
  $("n-unsure").textContent = p.unsure;
  const e = p.estimate;
  if (e && e.method === "audit" && e.recall_low !== null && e.recall_high !== null) {
    // A point estimate from a handful of random checks says little: show it once the interval is useful.
    // None at all (null) until a random check is positive.
    const wide = e.recall === null || e.recall_high - e.recall_low > 0.5;
    const range = `${e.recall_low.toFixed(2)}–${e.recall_high.toFixed(2)}`;
    $("recall").textContent = wide ? "?" : e.recall.toFixed(2);
    $("recall-note").textContent = `recall ${range}` + (wide ? ": too few checks" : "");
    $("recall-box").title = `recall: the share of all positives found so far, ${range} at ${Math.round(100 * e.level)} % ` +
      `confidence from the random checks${wide ? "; too few have been answered yet for a useful estimate" : ""}`;
  } else if (e && e.method === "model" && e.recall !== null) {
    // The search's own model: a point estimate with an assumption, never a certificate.
    $("recall").textContent = "≈" + e.recall.toFixed(2);
    $("recall-note").textContent = "recall, estimated";
    $("recall-box").title = `recall: the share of all positives found so far, estimated by the search's own model ` +
      `(about ${Math.round(e.remaining)} positives left; it assumes the model's probabilities are calibrated, ` +
      "so it is no guarantee: a certified stop, recall:R@C, is)";
  } else if (e && e.method === "quant" && e.recall !== null && !Number.isNaN(e.recall)) {
    // A heuristic: its interval is far too narrow, so none is shown.
    $("recall").textContent = "≈" + e.recall.toFixed(2);
    $("recall-note").textContent = "recall, heuristic";
    $("recall-box").title = "recall: the share of all positives found so far, a heuristic from the search's scores " +
      "(no random checks, so no interval)";
  } else {
    $("recall").textContent = "–";
    $("recall-note").textContent = "recall (estimate)";
    $("recall-box").title = "recall: the share of all positives found so far; estimated once the search has one";
  }
  drawCurve(p.curve);
  showExamples(doc.examples || []);
  showAgreement(doc.agreement);
  showStatus(p);
  if (S.view === "batch" && version !== S.version) {
    schedule(200);  // an answer went out while this state was on its way: fetch a fresh one
  } else if (S.view === "batch") {
    const rounds = doc.rounds.join(",");
    const fresh = rounds !== S.lastRounds;
    S.lastRounds = rounds;
    setItems(doc.batch, fresh);
  }
}

// Several labellers: the agreement tab (kappa per pair, checks waiting, disagreements to resolve).
function showAgreement(a) {
  if (!a) return;
  $("n-disagree").textContent = a.disagreements;
  $("tab-agreement").hidden = !(a.pairs.length || a.checks_waiting || S.view === "agreement");
  const box = $("agreement");
  box.hidden = S.view !== "agreement";
  if (box.hidden) return;
  const kappa = (s) => s.kappa === null ? "κ undefined (every answer the same)" : `κ = ${s.kappa.toFixed(2)}`;
  const pair = (p) => p.users[0] === p.users[1] ? `${escapeHtml(p.users[0])}, asked twice` : p.users.map(escapeHtml).join(" &amp; ");
  let html = "<h2>Agreement between labellers</h2>";
  html += a.pairs.length
    ? "<table><tr><th>labellers</th><th>Cohen's kappa</th><th>items both answered</th><th>agree</th></tr>" +
      a.pairs.map((p) => `<tr class="pair"><td>${pair(p)}</td><td class="kappa">${kappa(p)}</td><td>${p.items}</td><td>${p.agree}</td></tr>`).join("") +
      "</table>"
    : "<p>No item has two answers yet.</p>";
  html += `<p>${a.checks_waiting} check${a.checks_waiting === 1 ? "" : "s"} waiting for a second answer. ` +
    (a.disagreements
      ? `<b>${a.disagreements} disagreement${a.disagreements === 1 ? "" : "s"} to resolve</b>: give the right answer ` +
        "below (y / n); until then the search weighs both answers by how reliable each labeller has been.</p>"
      : "No disagreement to resolve.</p>");
  box.innerHTML = html;
}

function showStatus(p) {
  const el = $("status");
  el.className = "status " + p.status;
  el.textContent = "";
  const left = p.pending;
  if (p.status === "searching") {
    const of = p.epochs === null ? "" : ` of ${p.epochs}`;
    el.textContent = `ELSA is choosing the next batch (epoch ${p.epochs === null ? p.epoch + 1 : Math.min(p.epoch + 1, p.epochs)}${of})… ` +
      "Your answers are saved; unsure items can be revisited meanwhile.";
  } else if (p.status === "error") {
    el.textContent = p.message + " ";
    const b = document.createElement("button");
    b.textContent = "try again";
    b.onclick = () => call("POST", "/api/retry", {}).then(() => refresh());
    el.appendChild(b);
  } else if (p.status === "done") {
    el.textContent = `Finished: ${p.message}. ${p.found} positives found with ${p.labels} labels.`;
    const b = document.createElement("button");
    b.textContent = "continue for 5 more epochs";
    b.onclick = () => call("POST", "/api/extend", { epochs: 5 }).then(() => refresh());
    el.appendChild(b);
  } else if (left > 0) {
    el.textContent = `${left} item${left === 1 ? "" : "s"} to answer in this batch. ` +
      "When they are answered, ELSA picks the next ones.";
  } else {
    el.textContent = "Waiting for the next batch…";
  }
  const sharing = S.state && S.state.sharing ? S.state.sharing : [];
  if (sharing.length && p.status === "labelling" && left > 0) {
    el.textContent += ` You share this page with ${sharing.join(", ")}: your part of it comes first.`;
  }
  const checks = S.state && S.state.batch ? S.state.batch.filter((b) => b.check === "double").length : 0;
  if (checks && p.status !== "error") {
    el.textContent += ` ${checks} "please check" card${checks === 1 ? " is" : "s are"} yours: someone else ` +
      "answered them first; your answer is kept beside theirs.";
  }
  const c = p.certificate;
  if (c) {
    const line = document.createElement("span");
    line.className = "cert";
    const pct = `${Math.round(100 * c.confidence)} %`;
    if (c.method === "sample-wait") {
      line.textContent = c.phase === "search"
        ? `Recall ${c.target} at ${pct}: not certified yet. The search goes on while it finds positives; if it ` +
          (c.labels_to_certificate == null ? "handed over now, no sample could certify it yet."
            : `handed over now, a random sample of ${c.labels_to_certificate} unlabelled items would certify it if it held no positive.`)
        : `Random sample of the items the search left: ${c.describe}.`;
    } else if (c.method === "audit") {
      line.textContent = c.phase === "search"
        ? `Recall ${c.target} at ${pct}: not certified yet. The search goes on while it finds positives; if it ` +
          (c.labels_to_certificate == null ? "handed over now, no audit could certify it yet."
            : `handed over now, about ${c.labels_to_certificate} random checks of the unlabelled items could certify it.`)
        : `Random checks of the items the search left: ${c.describe} (the bound holds at every page).`;
    } else line.textContent = c.in_sample < c.n
      ? `Certifying recall ${c.target} at ${Math.round(100 * c.confidence)} %: ${c.in_sample} of the ${c.n} random ` +
        "positives needed are in the audit so far (random checks are mixed into each batch)."
      : `Certifying recall ${c.target} at ${Math.round(100 * c.confidence)} %: the search has found ${c.found} of ` +
        `${c.n} audit positives; it stops, certified, at ${c.j}.`;
    el.appendChild(line);
  }
  // While the next batch is computed, ask again at once with a long poll: the server answers the
  // moment the batch is ready. Otherwise a slow refresh follows other tabs' and users' answers.
  if (p.status === "searching" || (p.status === "labelling" && left === 0)) schedule(0, true);
  else schedule(3000);
}

let pollTimer = null;
function schedule(ms, wait = false) {
  clearTimeout(pollTimer);
  pollTimer = setTimeout(() => refresh(wait), ms);
}

function drawCurve(curve) {
  const svg = $("curve");
  const W = 220, H = 80, pad = 4, top = 16, bottom = 15;  // the labels sit above and below the plot
  const labels = Math.max(0, ...curve.map((c) => c[0]));
  const found = Math.max(0, ...curve.map((c) => c[1]));
  if (labels === 0) {  // only the origin: nothing to draw yet, so say what will be drawn
    svg.innerHTML =
      `<text x="${W / 2}" y="28" font-size="11" text-anchor="middle" fill="#59636e">No curve yet: it plots positives</text>` +
      `<text x="${W / 2}" y="44" font-size="11" text-anchor="middle" fill="#59636e">found against labels spent,</text>` +
      `<text x="${W / 2}" y="60" font-size="11" text-anchor="middle" fill="#59636e">from your first answer.</text>`;
    return;
  }
  const pts = curve.map(([x, y]) =>
    `${(pad + (x / labels) * (W - 2 * pad)).toFixed(1)},${(H - bottom - (y / Math.max(1, found)) * (H - top - bottom)).toFixed(1)}`);
  svg.innerHTML =
    `<polyline fill="none" stroke="#1a7f37" stroke-width="2" points="${pts.join(" ")}"/>` +
    `<text x="${W - pad}" y="11" font-size="10" text-anchor="end" fill="#59636e">${found} found</text>` +
    `<text x="${W - pad}" y="${H - 3}" font-size="10" text-anchor="end" fill="#59636e">${labels} label${labels === 1 ? "" : "s"}</text>`;
}

// The target by example: the seeds, then the first positives found (as /api/state lists them).
let shownExamples = "";
function showExamples(examples) {
  const key = JSON.stringify([S.images, examples]);
  if (key === shownExamples) return;  // unchanged: keep the images as they are, no flicker
  shownExamples = key;
  const box = $("examples");
  box.innerHTML = "";
  if (!examples.length) {
    const none = document.createElement("span");
    none.className = "none";
    none.textContent = "No examples yet: the first positives you find appear here.";
    box.appendChild(none);
    return;
  }
  const cap = document.createElement("span");
  cap.className = "cap";
  cap.textContent = "like:";
  cap.title = "your seeds (solid frame), then the first positives found (dashed)";
  box.appendChild(cap);
  for (const ex of examples) {
    const what = ex.origin === "seed" ? "seed" : "found";
    const el = document.createElement(S.images ? "button" : "span");
    el.className = `ex ${what}` + (S.images ? "" : " text");
    el.dataset.id = ex.id;
    el.setAttribute("role", "listitem");
    el.title = `#${ex.id} ${ex.name} (${what === "seed" ? "a seed" : "a positive found"})`;
    if (S.images) {
      el.innerHTML = `<img src="/api/image/${ex.id}?size=thumb" alt="${what} #${ex.id}: ${escapeHtml(ex.name)}">`;
      el.addEventListener("click", () => { el.blur(); openViewerFor(ex); });  // keys go back to the grid
    } else {
      el.textContent = ex.title ? ex.title : `#${ex.id} ${tail(ex.name)}`;
    }
    box.appendChild(el);
  }
}

// The end of a path ("…/test/5124"): the part that tells items apart.
function tail(name) {
  const parts = String(name).split("/");
  return parts.length > 2 ? "…/" + parts.slice(-2).join("/") : String(name);
}

// --- the grid ------------------------------------------------------------------------

function setItems(items, fresh) {
  for (const it of items) if (S.inflight.has(it.id)) it.label = S.inflight.get(it.id);
  const focusedId = S.items[S.focus] && S.items[S.focus].id;
  S.items = items;
  if (fresh) {
    S.selected.clear();
    S.focus = Math.max(0, items.findIndex((it) => !it.label));
  } else {
    const i = items.findIndex((it) => it.id === focusedId);
    S.focus = i >= 0 ? i : Math.min(S.focus, Math.max(0, items.length - 1));
  }
  render();
}

function tileFor(it, i) {
  const d = document.createElement("div");
  d.className = "tile" + (it.label ? " " + it.label : "") + (i === S.focus ? " focus" : "") +
    (S.selected.has(it.id) ? " selected" : "");
  d.dataset.index = i;
  d.dataset.id = it.id;
  // A text item is a card: its title, then its body cut to a few lines (space opens all of it).
  const img = it.text
    ? `<div class="card"${it.text.terms && it.text.terms.length ? ` title="shares with the positives: ${escapeHtml(it.text.terms.join(", "))}"` : ""}>` +
      `<div class="title">${it.text.title ? markTerms(it.text.title, it.text.terms) : "(no title)"}</div>` +
      `<div class="body">${it.text.body ? markTerms(it.text.body, it.text.terms) : "(no text)"}</div></div>`
    : S.images
      ? `<img loading="lazy" src="/api/image/${it.id}" alt="${escapeHtml(it.name)}">`
      : `<div class="noimg">no image</div>`;
  const tag = it.check
    ? `<span class="tag check" title="${it.check === "double" ? "someone else answered this item: your answer checks theirs" : "the search asks again about this answer"}">please check</span>`
    : it.source === "audit" ? `<span class="tag" title="a random item, to estimate how many positives remain">random check</span>` : "";
  const said = it.answers
    ? `<div class="answers">${it.answers.map((a) => `${escapeHtml(a.user)}: ${{ positive: "yes", negative: "no", unsure: "?" }[a.label]}`).join(" · ")}</div>`
    : "";
  const badge = it.label ? `<span class="badge">${{ positive: "yes", negative: "no", unsure: "?" }[it.label]}</span>` : "";
  // The file name is shown whole (wrapped when long, app.css); its folder is cut at its start to the
  // room left, so it never pushes the file name out. The left-to-right isolate keeps the folder's
  // punctuation in place inside the right-to-left box that cuts it.
  const cut = String(it.name).lastIndexOf("/") + 1;
  const folder = cut ? `<span class="path"><bdi dir="ltr">${escapeHtml(it.name.slice(0, cut))}</bdi></span>` : "";
  d.innerHTML = `${img}${tag}${badge}${said}<div class="name" title="${escapeHtml(it.name)}"><span class="id">#${it.id}</span>` +
    `${folder}<span class="file">${escapeHtml(it.name.slice(cut))}</span></div>` +
    `<div class="buttons"><button data-l="positive" title="y">yes</button><button data-l="negative" title="n">no</button>` +
    `<button data-l="unsure" title="u">?</button></div>`;
  d.addEventListener("click", (ev) => {
    S.focus = i;
    const b = ev.target.closest("button");
    if (b) answer(b.dataset.l);
    else if (ev.shiftKey || ev.ctrlKey || ev.metaKey || S.view === "similar" || S.view === "found") toggleSelect();
    else render();
  });
  d.addEventListener("dblclick", () => { S.focus = i; openViewer(); });
  return d;
}

function render() {
  const grid = $("grid");
  grid.innerHTML = "";
  if (!S.items.length) {
    const e = document.createElement("div");
    e.className = "empty";
    const status = S.state ? S.state.progress.status : "";
    const batch = { searching: "Nothing to label yet: ELSA is choosing the items to show you…",
      done: "Finished: nothing left to label. Export your labels above, or continue for more epochs.",
      error: "The search stopped with an error: see the message above." }[status] || "Nothing to label right now.";
    e.textContent = { batch, unsure: "No unsure items.", positives: "No positives yet.", agreement: "No disagreement to resolve.",
      similar: "No unlabelled neighbours.", found: "No item holds all of those words." }[S.view];
    grid.appendChild(e);
  }
  S.items.forEach((it, i) => grid.appendChild(tileFor(it, i)));
  const f = grid.children[S.focus];
  if (f && f.classList.contains("tile")) f.scrollIntoView({ block: "nearest" });
  $("bulk-seed").hidden = S.view !== "similar" && S.view !== "found";
  $("tab-similar").hidden = S.similarOf === null;
  $("tab-found").hidden = S.found === null;
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

// A text card's lead terms (the server's elsa.text.highlight: terms shared with the positives
// found so far) marked wherever their words occur, as the featuriser reads words: runs of two
// or more letters or digits, any case or accent. Returns escaped HTML.
function markTerms(text, terms) {
  const words = new Set();
  for (const t of terms || []) for (const w of t.split(" ")) if (w) words.add(w.toLowerCase());
  if (!words.size) return escapeHtml(text);
  let out = "", last = 0;
  for (const m of String(text).matchAll(/[\p{L}\p{N}_]{2,}/gu)) {
    if (!words.has(m[0].normalize("NFD").replace(/\p{M}/gu, "").toLowerCase())) continue;  // accents stripped, as the featuriser does
    out += escapeHtml(text.slice(last, m.index)) + `<mark>${escapeHtml(m[0])}</mark>`;
    last = m.index + m[0].length;
  }
  return out + escapeHtml(text.slice(last));
}

function columns() {
  const cols = getComputedStyle($("grid")).gridTemplateColumns.split(" ").length;
  return Math.max(1, cols);
}

function nextUnanswered(from) {
  for (let k = 1; k <= S.items.length; k++) {
    const j = (from + k) % S.items.length;
    if (!S.items[j].label) return j;
  }
  return Math.min(from + 1, S.items.length - 1);
}

// --- actions -------------------------------------------------------------------------

// A disagreement settled with the answer that stands from now on.
async function resolve(it, label) {
  const res = await call("POST", "/api/resolve", { item: it.id, label });
  if (!res) return;
  toast(`#${it.id} resolved: ${label}`);
  await switchView("agreement");
  refresh();
}

async function answer(label) {
  const it = S.items[S.focus];
  if (!it) return;
  if (S.view === "agreement") { resolve(it, label); return; }
  if (it.label === label) { S.focus = nextUnanswered(S.focus); render(); return; }
  if (it.label && it.label !== "unsure") {
    toast(`#${it.id} is already answered ${it.label}; press Backspace to undo your last answer`);
    return;
  }
  const expect = it.label || null;
  const before = it.label;
  it.label = label;  // shown at once; put back if the server refuses
  S.version++;
  S.inflight.set(it.id, label);
  const here = S.focus;
  S.focus = nextUnanswered(S.focus);
  render();
  // On the undo stack at once, so that Backspace pressed while the answer is still on its
  // way undoes this answer (once saved), not the one before it.
  // Where the person found an item the search did not propose: kept as the answer's origin.
  const via = { found: "search", similar: "similar" }[S.view];
  const saved = it.check ? call("POST", "/api/check", { item: it.id, label })
    : call("POST", "/api/answer", { item: it.id, label, expect, via });
  const entry = { id: it.id, event: null, saved, check: !!it.check };
  S.undo.push(entry);
  const res = await entry.saved;
  S.inflight.delete(it.id);
  S.version++;
  if (res) {
    it.event = res.event;
    entry.event = res.event;
    schedule(S.view === "batch" && S.items.every((x) => x.label) ? 0 : 300);  // counters and curve
  } else {
    const k = S.undo.indexOf(entry);
    if (k >= 0) S.undo.splice(k, 1);
    it.label = before;
    S.focus = here;
    render();
  }
}

async function undo() {
  const last = S.undo.pop();
  if (!last) { toast("nothing of yours to undo in this tab"); return; }
  if (last.event === null && last.saved) {  // the answer is still on its way: undo it once saved
    const saved = await last.saved;
    if (!saved) { toast("that answer was not saved, so there is nothing to undo"); return; }
    last.event = saved.event;
  }
  S.version++;
  const res = await call("POST", "/api/undo", { event: last.event });
  if (!res) return;
  const i = S.items.findIndex((x) => x.id === res.item);
  // A check taken back waits for a second answer again; the first answer stays hidden.
  if (i >= 0) { S.items[i].label = last.check ? null : res.label; S.focus = i; }
  toast(last.check ? `undone: your check of #${res.item}` : `undone: #${res.item} is now ${res.label || "unanswered"}`);
  render();
  refresh();
}

function toggleSelect() {
  const it = S.items[S.focus];
  if (!it) return;
  if (S.selected.has(it.id)) S.selected.delete(it.id); else S.selected.add(it.id);
  render();
}

function selectUnanswered() {
  S.items.filter((x) => !x.label && !x.check).forEach((x) => S.selected.add(x.id));  // a check is answered alone
  render();
}

async function bulkNegative() {
  const ids = [...S.selected].filter((id) => { const it = S.items.find((x) => x.id === id); return it && !it.label && !it.check; });
  if (!ids.length) { toast("select unanswered items first (x, or shift+click; a selects all unanswered)"); return; }
  S.version++;
  const res = await call("POST", "/api/answer_many", { items: ids, label: "negative" });
  if (!res) return;
  for (const [id, ev] of Object.entries(res.events)) S.undo.push({ event: ev, id: Number(id) });
  const n = Object.keys(res.conflicts).length;
  if (n) toast(`${n} item(s) were answered elsewhere first and kept their answer`);
  S.selected.clear();
  await refresh();
  if (S.view !== "batch") render();
}

async function moreLikeThis() {
  const it = S.items[S.focus];
  if (!it) return;
  const res = await call("GET", `/api/similar/${it.id}?k=48`);
  if (!res) return;
  S.similarOf = it.id;
  switchView("similar", res.items);
  toast(`items most like #${it.id}: click the positives, then "add selected as seeds"`);
}

async function bulkSeeds() {
  const ids = [...S.selected];
  if (!ids.length) { toast("select the positives first"); return; }
  const res = await call("POST", "/api/seeds", { items: ids });
  if (!res) return;
  toast(`${res.added.length} seed(s) added; they steer the next batch`);
  S.selected.clear();
  switchView("batch");
}

async function find(query) {
  const res = await call("GET", `/api/find?q=${encodeURIComponent(query)}`);
  if (!res) return;
  S.found = res;
  await switchView("found", res.items);
  toast(res.items.length
    ? `${res.items.length} item(s) hold "${query}": answer them, or click the positives and "add selected as seeds"`
    : `no item holds all of "${query}"`);
}

async function switchView(view, items) {
  S.view = view;
  document.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", t.dataset.view === view));
  S.selected.clear();
  showAgreement(S.state && S.state.agreement);
  if (view === "batch") { S.lastRounds = ""; await refresh(); return; }
  if (view === "similar") { S.items = items || []; S.focus = 0; render(); return; }
  if (view === "found") { S.items = items || (S.found ? S.found.items : []); S.focus = 0; render(); return; }
  const res = await call("GET", `/api/list/${view === "agreement" ? "disagreements" : view}`);
  S.items = res ? res.items : [];
  if (view === "agreement") for (const it of S.items) it.label = null;  // undecided until resolved: no badge
  S.focus = 0;
  render();
}

function openViewer() {
  openViewerFor(S.items[S.focus]);
}

function openViewerFor(it) {
  if (it && it.text) {  // a text item: the whole record, readable, in the same overlay
    $("viewer-img").hidden = true;
    $("viewer-text").hidden = false;
    $("viewer-title").innerHTML = it.text.title ? markTerms(it.text.title, it.text.terms) : "(no title)";
    $("viewer-body").innerHTML = it.text.body ? markTerms(it.text.body, it.text.terms) : "(no text)";
    $("viewer-name").textContent = `#${it.id} ${it.name}`;
    $("viewer").hidden = false;
    return;
  }
  if (!it || !S.images) return;
  $("viewer-img").hidden = false;
  $("viewer-text").hidden = true;
  $("viewer-img").src = `/api/image/${it.id}?size=full`;
  $("viewer-img").alt = it.name;
  $("viewer-name").textContent = `#${it.id} ${it.name}`;
  $("viewer").hidden = false;
}

document.querySelectorAll(".tab").forEach((t) => t.addEventListener("click", () => switchView(t.dataset.view,
  t.dataset.view === "similar" ? S.items : undefined)));
$("find-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const q = $("find-q").value.trim();
  if (!q) { toast("type a word to look for"); return; }
  find(q);
});
$("bulk-neg").addEventListener("click", bulkNegative);
$("bulk-seed").addEventListener("click", bulkSeeds);
$("viewer").addEventListener("click", () => { $("viewer").hidden = true; });
$("seed-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  // A name as the tiles show it (a record id, a file name), or #N for the tile numbered N.
  const text = $("seed-id").value.trim();
  if (!text) { toast("type a record id or file name as shown on a tile, or #N"); return; }
  const num = /^#\d+$/.test(text) ? Number(text.slice(1)) : null;
  const res = await call("POST", "/api/seeds", num === null ? { names: [text] } : { items: [num] });
  if (res) {
    toast(res.added.length ? `${text} (#${res.items[0]}) added as a seed` : `${text} was already positive`);
    $("seed-id").value = "";
    refresh();
  }
});
for (const fmt of ["csv", "jsonl", "txt"]) {
  // Exports are downloads; with a token they need it in the header, so fetch them.
  $(`exp-${fmt}`).addEventListener("click", async (ev) => {
    if (!TOKEN) return;
    ev.preventDefault();
    const res = await fetch(`/api/export/${fmt}`, { headers: headers() });
    const blob = await res.blob();
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = fmt === "txt" ? "positives.txt" : `labels.${fmt}`;
    a.click();
  });
}

document.addEventListener("keydown", (ev) => {
  if (ev.target.tagName === "INPUT") return;
  if (!$("viewer").hidden) {
    if (ev.key === " " || ev.key === "Escape") { ev.preventDefault(); $("viewer").hidden = true; }
    return;
  }
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const n = S.items.length;
  const move = (d) => { S.focus = Math.max(0, Math.min(n - 1, S.focus + d)); render(); };
  switch (ev.key) {
    case "y": answer("positive"); break;
    case "n": answer("negative"); break;
    case "u": answer("unsure"); break;
    case "N": bulkNegative(); break;
    case "Backspace": undo(); break;
    case "ArrowRight": move(1); break;
    case "ArrowLeft": move(-1); break;
    case "ArrowDown": move(columns()); break;
    case "ArrowUp": move(-columns()); break;
    case " ": openViewer(); break;
    case "x": toggleSelect(); break;
    case "a": selectUnanswered(); break;
    case "m": moreLikeThis(); break;
    case "Escape": if (S.view !== "batch") switchView("batch"); break;
    default: return;
  }
  ev.preventDefault();
});

refresh();
