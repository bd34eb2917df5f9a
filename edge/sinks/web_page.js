// Polls /api/status and /api/events twice a second; the video is an MJPEG <img>.
"use strict";
const token = new URLSearchParams(location.search).get("token");
const query = token ? "?token=" + encodeURIComponent(token) : "";
const $ = (id) => document.getElementById(id);
const video = $("video");

function number(value, digits) {
  return typeof value === "number" ? value.toFixed(digits) : "–";
}

function showStatus(s) {
  $("label").textContent = s.label ?? "waiting for the first frame…";
  $("score").textContent = typeof s.score === "number" ? "score " + s.score.toFixed(2) : "";
  $("fps").textContent = number(s.fps, 1);
  $("inference").textContent = typeof s.inference_ms === "number" ? s.inference_ms.toFixed(1) + " ms" : "–";
  $("frames").textContent = s.frames ?? "–";
  $("dropped").textContent = s.dropped_frames ?? "–";
  $("uptime").textContent = typeof s.uptime_s === "number" ? Math.round(s.uptime_s) + " s" : "–";
  $("model").textContent = (s.model ?? "–") + (s.model_sha ? " (" + s.model_sha + ")" : "");
  $("backend").textContent = s.backend ?? "–";
  showCollected(s.collected);
}

function showCollected(c) {
  $("collected").hidden = !c;
  if (!c) return;
  $("collected-count").textContent = c.count;
  $("collected-stopped").textContent = c.stopped ? "(stopped: " + c.stopped + ")" : "";
  const images = c.latest.map((id) => {
    const image = document.createElement("img");
    image.src = "collected/" + encodeURIComponent(id) + ".jpg" + query;
    image.alt = "collected frame " + id;
    return image;
  });
  const shown = [...$("collected-latest").children].map((image) => image.alt).join();
  if (shown !== images.map((image) => image.alt).join()) $("collected-latest").replaceChildren(...images);
}

function showEvents(events) {
  const items = events.slice(0, 20).map((e) => {
    const item = document.createElement("li");
    const time = document.createElement("time");
    time.textContent = e.timestamp ? new Date(e.timestamp * 1000).toLocaleTimeString() : "";
    if (e.type === "model_change") {
      item.append(time, "model " + e.previous.slice(0, 12) + " → " + e.model);
    } else if (e.type === "model_rejected") {
      item.append(time, "model refused: " + e.reason);
    } else {
      item.append(time, (e.previous ? e.previous + " → " : "") + e.label
                  + (typeof e.score === "number" ? " (" + e.score.toFixed(2) + ")" : ""));
    }
    return item;
  });
  $("events").replaceChildren(...items);
}

function connection(text, lost) {
  $("connection").textContent = text;
  $("connection").className = lost ? "lost" : "";
}

async function poll() {
  try {
    const [status, events] = await Promise.all([
      fetch("api/status" + query, { cache: "no-store" }),
      fetch("api/events" + query, { cache: "no-store" }),
    ]);
    if (status.status === 401) {
      connection("this view needs a token: open it as …/?token=YOUR_TOKEN", true);
    } else if (status.ok && events.ok) {
      showStatus(await status.json());
      showEvents((await events.json()).events);
      connection("live", false);
    } else {
      connection("server answered " + status.status, true);
    }
  } catch (error) {
    connection("connection lost; retrying…", true);
  }
  setTimeout(poll, 500);
}

// The stream ends when the server restarts or the network drops: reopen it.
video.addEventListener("error", () => setTimeout(() => { video.src = "stream.mjpg" + query + (query ? "&" : "?") + "t=" + Date.now(); }, 2000));
video.src = "stream.mjpg" + query;
poll();
