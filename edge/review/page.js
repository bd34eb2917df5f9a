// The review page: shows /api/state's current frame; keys and buttons POST a decision or undo.
"use strict";
const token = new URLSearchParams(location.search).get("token");
const query = token ? "?token=" + encodeURIComponent(token) : "";
const $ = (id) => document.getElementById(id);
let state = null;
let busy = false;
let asked = 0;  // requests sent so far
let shownAnswer = 0;  // the request whose answer the page shows
let classNames = "";

function frameUrl(id, view) {
  return "frames/" + encodeURIComponent(id) + (view ? ".view" : "") + ".jpg" + query;
}

function message(text) {
  $("message").textContent = text || "";
}

function connection(text, lost) {
  $("connection").textContent = text;
  $("connection").className = lost ? "lost" : "";
}

function item(text) {
  const li = document.createElement("li");
  li.textContent = text;
  return li;
}

function describe(entry) {
  const what = entry.action === "label" ? entry.label + (entry.new_class ? " (new class)" : "")
    : entry.action === "skip" ? "skipped" : "none of these";
  return entry.id + ": " + what + " (model: " + entry.model_label + ")";
}

function showClasses(s) {
  const names = JSON.stringify(s.classes.map((c) => [c.name, c.key]));
  if (names !== classNames) {
    classNames = names;
    $("classes").replaceChildren(...s.classes.map((c) => {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.label = c.name;
      button.className = c.new ? "new" : "";
      button.append(c.name);
      if (c.key) {
        const kbd = document.createElement("kbd");
        kbd.textContent = c.key;
        button.append(kbd);
      }
      button.addEventListener("click", () => decide("label", c.name));
      return button;
    }));
  }
  const guess = s.current ? s.current.label : null;
  for (const button of $("classes").children) {
    button.classList.toggle("guess", button.dataset.label === guess);
  }
  const added = s.classes.filter((c) => c.new).map((c) => c.name);
  $("new-note").hidden = added.length === 0;
  $("new-note").textContent = "New " + (added.length > 1 ? "classes " : "class ") + added.join(", ")
    + ": not among the model's classes; the next training (tfedge train --add) adds "
    + (added.length > 1 ? "them." : "it.");
}

function showCurrent(c) {
  document.body.dataset.current = c ? c.id : "";
  $("pictures").hidden = !c;
  $("done").hidden = !!c;
  for (const id of ["accept", "skip", "none"]) $(id).disabled = !c;
  if (!c) {
    $("guess").textContent = "";
    $("why").textContent = "";
    $("topk").replaceChildren();
    return;
  }
  $("frame").src = frameUrl(c.id, false);
  $("view").src = frameUrl(c.id, true);
  $("guess").textContent = "model: " + c.label + " (" + c.score.toFixed(2) + ")";
  $("why").textContent = "kept for " + c.reason.replace("_", " ") + "; margin " + c.margin.toFixed(2)
    + (c.stable_label ? "; stable label " + c.stable_label : "")
    + "; taken " + new Date(c.timestamp * 1000).toLocaleString();
  $("topk").replaceChildren(...c.top_k.map(([name, score]) => {
    const li = document.createElement("li");
    const label = document.createElement("span");
    const bar = document.createElement("span");
    const value = document.createElement("span");
    label.textContent = name;
    bar.className = "bar";
    bar.style.width = Math.round(Math.max(0, Math.min(1, score)) * 100) + "%";
    value.textContent = score.toFixed(2);
    li.append(label, bar, value);
    return li;
  }));
}

function show(s) {
  state = s;
  const position = s.current ? "frame " + s.current.position + " of " + s.total + "; " : "";
  $("progress").textContent = position + s.decided + " decided (" + s.labelled + " labelled, "
    + s.skipped + " skipped, " + s.none + " none), " + s.remaining + " left; reviewer " + s.reviewer;
  $("out").textContent = s.out;
  showClasses(s);
  showCurrent(s.current);
  $("undo").disabled = !s.can_undo;
  $("recent").replaceChildren(...s.recent.map((entry) => item(describe(entry))));
  $("damaged").hidden = s.problem_count === 0;
  $("damaged").querySelector("summary").textContent = s.problem_count
    + " damaged collected frame(s), skipped" + (s.problem_count > s.problems.length
      ? " (the first " + s.problems.length + " below; the terminal lists all)" : "");
  $("problems").replaceChildren(...s.problems.map(item));
  if (s.next) new Image().src = frameUrl(s.next, false);  // load the next frame ahead
}

async function call(path, body) {
  const options = body === undefined ? { cache: "no-store" }
    : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const ask = ++asked;
  try {
    const answer = await fetch(path + query, options);
    if (answer.status === 401) {
      connection("this page needs a token: open it as …/?token=YOUR_TOKEN", true);
      return;
    }
    const data = await answer.json();
    // an answer to an older request (a refresh on focus) that arrives after a newer one's (a
    // decision) may hold the state from before that decision: the page keeps the newer one
    if (ask < shownAnswer) return answer.ok;
    shownAnswer = ask;
    if (data.state) show(data.state);
    message(answer.ok ? "" : data.error);
    connection("connected; every decision is saved", false);
    return answer.ok;
  } catch (error) {
    connection("connection lost: is tfedge review still running? (" + error.message + ")", true);
  }
}

async function act(path, body) {
  if (busy) return false;  // one decision at a time: the next one needs the frame this one brings
  busy = true;
  document.body.dataset.busy = "1";
  try {
    return await call(path, body);
  } finally {
    busy = false;
    document.body.dataset.busy = "";
  }
}

function decide(action, label) {
  if (!state || !state.current) return Promise.resolve(false);
  return act("api/decide", { id: state.current.id, action, label });
}

function undo() {
  act("api/undo", {});
}

document.addEventListener("keydown", (event) => {
  if (event.target instanceof HTMLInputElement) {
    if (event.key === "Escape") event.target.blur();
    return;
  }
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") {
    event.preventDefault();
    undo();
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey || !state) return;
  const byKey = state.classes.find((c) => c.key === event.key);
  let handled = true;
  if (byKey) decide("label", byKey.name);
  else if (event.key === "Enter" && state.current) decide("label", state.current.label);
  else if (event.key === " ") decide("skip");
  else if (event.key === "-") decide("none");
  else if (event.key === "Backspace") undo();
  else if (event.key === "+") $("new-class").focus();
  else handled = false;
  if (handled) event.preventDefault();
});

$("new-class-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("new-class").value.trim();
  if (name && await decide("label", name)) {
    $("new-class").value = "";
    $("new-class").blur();
  }
});
$("accept").addEventListener("click", () => state && state.current && decide("label", state.current.label));
$("skip").addEventListener("click", () => decide("skip"));
$("none").addEventListener("click", () => decide("none"));
$("undo").addEventListener("click", undo);
// a clicked button gives the focus back, so Enter and Space stay the review's keys
document.addEventListener("click", (event) => event.target.closest("button")?.blur());
window.addEventListener("focus", () => busy || call("api/state"));
call("api/state");
