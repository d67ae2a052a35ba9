// keywheel dashboard: reads /api/state every second and draws it. Every text from the server is
// set with textContent, never parsed as HTML.
"use strict";

const REFRESH_MS = 1000;
const SVG = "http://www.w3.org/2000/svg";
let names = {};

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  return node;
}

function short(account) {
  return account ? account.slice(0, 6) + "…" + account.slice(-4) : "–";
}

function who(account) {
  return names[account] ? names[account] : short(account);
}

function whoList(accounts) {
  return accounts && accounts.length ? accounts.map(who).join(", ") : "–";
}

function seconds(s) {
  if (s === null || s === undefined) return "–";
  if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + " s";
  const m = Math.floor(s / 60);
  return m + " min " + Math.round(s - m * 60) + " s";
}

function ago(ms, now) {
  return seconds(Math.max(0, (now - ms) / 1000)) + " ago";
}

function fillTable(table, rows) {
  const body = table.tBodies[0];
  body.replaceChildren(...rows);
}

function cell(content, attrs) {
  return el("td", attrs, content);
}

function render(state) {
  names = state.names || {};
  const now = state.now_ms;
  const link = $("link");
  const alerts = [];
  if (state.node.reachable) {
    link.textContent = "node connected";
    link.className = "pill ok";
  } else {
    link.textContent = "node unreachable";
    link.className = "pill bad";
    alerts.push("The node at " + state.node.url + " cannot be reached (since " + ago(state.node.since_ms, now) +
      "): " + state.node.error + ". What is shown is the last view; the dashboard reconnects by itself.");
  }
  for (const t of state.tss) {
    if (!t.reachable && t.error) alerts.push("TSS " + (t.account ? who(t.account) : t.url) + " cannot be reached: " + t.error);
  }
  $("alerts").replaceChildren(...alerts.map((a) => el("p", { "data-testid": "alert" }, a)));
  renderChain(state.chain);
  renderHistory(state.sessions || []);
  renderSigning(state.signing);
  renderTss(state.tss, now);
}

function renderChain(chain) {
  if (!chain) return;
  $("network").textContent = chain.network;
  $("height").textContent = chain.height;
  $("session").textContent = chain.session;
  $("validators").textContent = chain.validators;
  $("next-session").textContent = chain.next_session_block + " (in " + seconds(chain.seconds_to_next_session) + ")";
  const progress = $("session-progress");
  progress.value = chain.into_session / chain.session_length;
  progress.setAttribute("aria-valuetext", chain.into_session + " of " + chain.session_length + " blocks");
  $("session-progress-label").textContent = "Progress to the next session: block " + chain.into_session + " of " + chain.session_length;
  $("parent-key").textContent = chain.parent_key ? "0x" + chain.parent_key : "none yet (not jumpstarted)";
  $("threshold").textContent = chain.threshold === null ? "–" : chain.threshold;
  $("committee-size").textContent = chain.committee_size;

  fillTable($("committee"), chain.members.map((m, i) => {
    const notes = [];
    if (m.joining) notes.push("joining");
    if (m.halted) notes.push("halted: " + m.halted);
    if (m.error) notes.push(m.error);
    if (!m.watched) notes.push("TSS not watched");
    return el("tr", { "data-tss": m.tss, "data-phase": m.phase },
      cell(m.joining ? "new" : i + 1),
      cell(who(m.validator)),
      cell(el("code", { title: m.tss }, short(m.tss))),
      cell(el("span", { class: "phase " + m.phase }, m.phase)),
      cell(notes.join("; ")));
  }));

  renderReshare(chain.reshare);

  $("slash-caption").textContent = chain.slash_count === 0 ? "None." :
    chain.slash_count + " in all" + (chain.slash_count > chain.slashes.length ? ", the latest " + chain.slashes.length + " shown" : "") + ", latest first.";
  fillTable($("slashes"), chain.slashes.map((s) => el("tr", { "data-tss": s.tss, "data-kind": s.kind },
    cell(who(s.validator)),
    cell(el("code", { title: s.tss }, short(s.tss))),
    cell(s.kind),
    cell(s.reason),
    cell(el("code", { title: s.fingerprint }, s.fingerprint.slice(0, 16) + "…")),
    cell(s.session + " / " + s.attempt),
    cell(s.amount),
    cell(s.barred_until))));
}

function renderReshare(r) {
  const box = $("reshare");
  if (!r) {
    box.replaceChildren(el("p", { class: "muted" }, "None in flight."));
    return;
  }
  const confirmed = el("progress", { max: r.new_committee.length, value: r.confirmed.length, id: "confirm-progress" });
  const reports = r.reports.length ? el("ul", { class: "plain" }, ...r.reports.map((rep) =>
    el("li", {}, who(rep.reporter) + " reported silent: " + rep.named.map((n) => who(n.party) + " (" + n.round + ")").join(", ")))) :
    el("p", { class: "muted" }, "No silence reports.");
  box.replaceChildren(
    el("dl", { class: "facts" },
      el("div", {}, el("dt", {}, "Kind"), el("dd", {}, r.kind)),
      el("div", {}, el("dt", {}, "Session / attempt"), el("dd", {}, r.session + " / " + r.attempt)),
      el("div", {}, el("dt", {}, "Deadline"), el("dd", { "data-testid": "deadline" },
        "block " + r.deadline_block + " (" + r.blocks_left + " blocks, " + seconds(r.seconds_left) + ")")),
      el("div", {}, el("dt", {}, "Confirmed"), el("dd", {}, r.confirmed.length + " of " + r.new_committee.length))),
    el("label", { for: "confirm-progress" }, "Confirmations"),
    confirmed,
    el("div", { class: "lists" },
      el("div", {}, el("h3", {}, "Staying"), el("p", {}, whoList(r.staying))),
      el("div", {}, el("h3", {}, "Leaving"), el("p", {}, whoList(r.leaving))),
      el("div", {}, el("h3", {}, "Joining"), el("p", {}, whoList(r.joining))),
      el("div", {}, el("h3", {}, "Confirmed"), el("p", {}, whoList(r.confirmed)))),
    el("h3", {}, "Silence reports"),
    reports);
}

function renderHistory(sessions) {
  fillTable($("history"), sessions.map((s) => el("tr", { "data-session": s.session, "data-outcome": s.outcome, "data-kind": s.kind },
    cell(s.session),
    cell(s.kind),
    cell(s.attempts),
    cell(seconds(s.duration_s)),
    cell(s.outcome.replace("_", " "), { class: "outcome-" + s.outcome }),
    cell(s.left === null ? "not known (read back from a later block)" : whoList(s.left)),
    cell(whoList(s.joined)),
    cell(s.aborts.length ? s.aborts.map((a) => "#" + a.attempt + " " + a.reason + (a.offenders.length ? " (" + whoList(a.offenders) + ")" : "")).join("; ") : "–"))));

  const ended = sessions.filter((s) => s.duration_s !== null).slice(0, 40).reverse();
  const chart = $("duration-chart");
  if (!ended.length) {
    chart.replaceChildren(el("p", { class: "muted" }, "No session has ended yet."));
    return;
  }
  const W = 600, H = 160, pad = 30;
  const max = Math.max(...ended.map((s) => s.duration_s), 1);
  const box = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "Reshare duration per session" });
  box.append(svg("line", { class: "axis", x1: pad, y1: H - 20, x2: W, y2: H - 20 }));
  const step = Math.min((W - pad) / ended.length, 60);
  ended.forEach((s, i) => {
    const h = ((H - 40) * s.duration_s) / max;
    const bar = svg("rect", { class: "bar " + s.outcome, x: pad + i * step + 2, y: H - 20 - h, width: Math.max(step - 4, 2), height: h });
    const title = svg("title", {});
    title.textContent = "session " + s.session + ": " + seconds(s.duration_s) + ", " + s.outcome;
    bar.append(title);
    box.append(bar);
    const label = svg("text", { x: pad + i * step + step / 2, y: H - 6, "text-anchor": "middle" });
    label.textContent = s.session;
    box.append(label);
  });
  const top = svg("text", { x: 2, y: 14 });
  top.textContent = seconds(max);
  box.append(top);
  chart.replaceChildren(box);
}

function renderSigning(signing) {
  $("answered").textContent = signing.answered;
  const recent = signing.points.slice(-30);
  const count = recent.reduce((a, p) => a + p.per_second, 0);
  const withLatency = recent.filter((p) => p.mean_latency_s !== null);
  $("throughput").textContent = recent.length ? (count / recent.length).toFixed(2) + " / s" : "–";
  $("latency").textContent = withLatency.length ?
    seconds(withLatency.reduce((a, p) => a + p.mean_latency_s, 0) / withLatency.length) : "–";

  const chart = $("signing-chart");
  const points = signing.points;
  if (points.length < 2) {
    chart.replaceChildren(el("p", { class: "muted" }, "Collecting samples…"));
    return;
  }
  const W = 600, H = 160, pad = 30;
  const maxRate = Math.max(...points.map((p) => p.per_second), 0.1);
  const maxLat = Math.max(...points.map((p) => p.mean_latency_s || 0), 0.1);
  const t0 = points[0].at_ms, t1 = points[points.length - 1].at_ms;
  const x = (t) => pad + ((W - pad) * (t - t0)) / Math.max(t1 - t0, 1);
  const box = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "Signing throughput and latency over time" });
  box.append(svg("line", { class: "axis", x1: pad, y1: H - 20, x2: W, y2: H - 20 }));
  const bw = Math.max((W - pad) / points.length - 1, 1);
  for (const p of points) {
    const h = ((H - 40) * p.per_second) / maxRate;
    if (h > 0) box.append(svg("rect", { class: "bar", x: x(p.at_ms) - bw / 2, y: H - 20 - h, width: bw, height: h }));
  }
  const line = points.filter((p) => p.mean_latency_s !== null)
    .map((p) => x(p.at_ms).toFixed(1) + "," + (H - 20 - ((H - 40) * p.mean_latency_s) / maxLat).toFixed(1));
  if (line.length > 1) box.append(svg("polyline", { class: "line", points: line.join(" ") }));
  const labels = [[2, 14, maxRate.toFixed(2) + "/s"], [W - 60, 14, seconds(maxLat)]];
  for (const [lx, ly, text] of labels) {
    const t = svg("text", { x: lx, y: ly });
    t.textContent = text;
    box.append(t);
  }
  chart.replaceChildren(box);
}

function renderTss(list, now) {
  if (!list.length) {
    $("tss-list").replaceChildren(el("li", { class: "muted" }, "None: start the dashboard with --tss URL to watch TSSs."));
    return;
  }
  $("tss-list").replaceChildren(...list.map((t) => el("li", {},
    (t.reachable ? "✓ " : "✗ ") + (t.account ? who(t.account) + " " : "") + t.url +
    (t.reachable ? (t.running ? " — running session " + t.running[0] + " attempt " + t.running[1] : "") :
      " — unreachable" + (t.answered_ms ? ", last answer " + ago(t.answered_ms, now) : "")))));
}

async function refresh() {
  try {
    const response = await fetch("/api/state", { cache: "no-store" });
    if (!response.ok) throw new Error("the dashboard's server answered " + response.status);
    render(await response.json());
  } catch (e) {
    console.error("dashboard refresh failed:", e);
    const link = $("link");
    link.textContent = "dashboard server unreachable";
    link.className = "pill bad";
    $("alerts").replaceChildren(el("p", { "data-testid": "alert" }, "The dashboard's own server does not answer (" + e.message + "); retrying every second."));
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}

async function lookup(event) {
  event.preventDefault();
  const out = $("lookup-result");
  const account = $("account").value.trim();
  if (!account) {
    out.replaceChildren(el("p", {}, "Enter an account's SS58 address."));
    return;
  }
  out.replaceChildren(el("p", { class: "muted" }, "Looking up…"));
  try {
    const response = await fetch("/api/child?account=" + encodeURIComponent(account), { cache: "no-store" });
    const body = await response.json();
    if (!response.ok) {
      out.replaceChildren(el("p", { role: "alert" }, body.error));
      return;
    }
    const registered = body.registered === null ? "unknown (" + body.registered_error + ")" : body.registered ? "yes" : "no (register it to sign)";
    out.replaceChildren(el("dl", { class: "facts" },
      el("div", {}, el("dt", {}, "Child address"), el("dd", { class: "mono wrap", "data-testid": "child-address" }, body.address)),
      el("div", {}, el("dt", {}, "BIP32 path"), el("dd", { class: "mono" }, "m/" + body.path.join("/"))),
      el("div", {}, el("dt", {}, "Registered"), el("dd", {}, registered))));
  } catch (e) {
    out.replaceChildren(el("p", { role: "alert" }, "The lookup failed: " + e.message));
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("lookup").addEventListener("submit", lookup);
  refresh();
});
