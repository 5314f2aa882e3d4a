// rlviz report page: a timeline, the frame under the cursor and its explanation maps.
// Plain JavaScript, no build step; data.js sets window.RLVIZ_DATA (file:// forbids fetch()).
// Images are atlases of CHUNK steps (COLUMNS tiles a row): img/<layer>/<chunk>.png.
"use strict";
(function () {
  const D = window.RLVIZ_DATA;
  const N = D.steps;
  const $ = (id) => document.getElementById(id);
  const ACTION_COLOURS = ["#999999", "#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7"];
  // legend bars drawn by the videos' colormaps.colour_bar (img/legend-*.png), words from colormaps.LEGEND_WORDS
  const LEGEND = { actor: "actor", critic: "critic", relevance: "diverging" };
  const WORDS = D.legend_words || {};
  const state = { step: 0, layer: D.layers.length ? D.layers[0].key : null, opacity: 1, playing: false,
                  view: [0, Math.max(N - 1, 1)], dragging: false };
  const images = new Map();  // "layer/chunk" -> Image

  function atlas(layer, step) {
    const key = layer + "/" + Math.floor(step / D.chunk);
    let img = images.get(key);
    if (!img) {
      img = new Image();
      img.src = "img/" + key + ".png";
      img.onload = () => draw();
      images.set(key, img);
    }
    return img;
  }
  function tile(step, w, h) {  // the same layout as rlviz/present/report/encode.py tile_origin
    const k = step % D.chunk;
    return [(k % D.columns) * w, Math.floor(k / D.columns) * h];
  }
  const ready = (img) => img.complete && img.naturalWidth > 0;

  // ---------- the timeline ----------
  const tl = $("timeline");
  const tctx = tl.getContext("2d");
  const PAD = 44;
  const x0 = () => PAD, x1 = () => tl.width - 10;
  const stepToX = (s) => x0() + (s - state.view[0]) / (state.view[1] - state.view[0]) * (x1() - x0());
  const xToStep = (x) => Math.round(state.view[0] + (x - x0()) / (x1() - x0()) * (state.view[1] - state.view[0]));
  const clampStep = (s) => Math.max(0, Math.min(N - 1, s));

  const range = (v) => v.reduce(([a, b], x) => [Math.min(a, x), Math.max(b, x)], [Infinity, -Infinity]);
  const VALUE_RANGE = range(D.compare ? D.value.concat(D.compare.value) : D.value);
  const MAX_LIVES = range(D.lives)[1];

  function track(y, h, values, colour, label, lo, hi, dashed) {
    if (!values || !values.length) return;
    if (hi - lo < 1e-9) { hi = lo + 1; }
    const a = Math.max(0, Math.floor(state.view[0])), b = Math.min(N - 1, Math.ceil(state.view[1]));
    const every = Math.max(1, Math.floor((b - a) / (x1() - x0())));
    tctx.strokeStyle = colour; tctx.lineWidth = 1.5; tctx.setLineDash(dashed ? [4, 3] : []);
    tctx.beginPath();
    for (let s = a; s <= b; s += every) {
      const yy = y + h - (values[s] - lo) / (hi - lo) * h;
      if (s === a) tctx.moveTo(stepToX(s), yy); else tctx.lineTo(stepToX(s), yy);
    }
    tctx.stroke(); tctx.setLineDash([]);
    if (label) { tctx.fillStyle = colour; tctx.fillText(label, 4, y + 10); }
  }

  function drawTimeline() {
    const W = tl.width, H = tl.height;
    tctx.clearRect(0, 0, W, H);
    tctx.font = "11px system-ui, sans-serif";
    const a = Math.max(0, Math.floor(state.view[0])), b = Math.min(N - 1, Math.ceil(state.view[1]));
    const C = D.compare;
    // value (and the compared agent's value on the same observations, dashed)
    const [lo, hi] = VALUE_RANGE;
    track(18, 70, D.value, "#56b4e9", "value", lo, hi);
    if (C) track(18, 70, C.value, "#cc79a7", "", lo, hi, true);
    // rewards: green up, orange down; lives as a step line
    tctx.fillStyle = "#aaa"; tctx.fillText("reward", 4, 108);
    for (let s = a; s <= b; s++) {
      const r = D.reward[s];
      if (r) { tctx.fillStyle = r > 0 ? "#009e73" : "#e69f00"; tctx.fillRect(stepToX(s) - 1, r > 0 ? 96 : 106, 3, 10); }
    }
    if (MAX_LIVES > 0) track(96, 20, D.lives, "#bbbbbb", "", 0, MAX_LIVES);
    // chosen action (colour) with its probability (height); entropy below
    tctx.fillStyle = "#aaa"; tctx.fillText("action", 4, 132);
    const w = Math.max(1, (x1() - x0()) / (b - a + 1));
    for (let s = a; s <= b; s++) {
      const p = D.prob.length ? D.prob[s] : 1;
      tctx.fillStyle = ACTION_COLOURS[D.action[s] % ACTION_COLOURS.length];
      tctx.fillRect(stepToX(s) - w / 2, 150 - 28 * p, Math.ceil(w), 28 * p);
      if (C && C.action[s] !== D.action[s]) { tctx.fillStyle = "#d55e00"; tctx.fillRect(stepToX(s) - w / 2, 153, Math.ceil(w), 4); }
    }
    if (D.entropy.length) track(162, 36, D.entropy, "#f0e442", "entropy", 0, Math.log(D.agent.actions.length));
    // episode starts, key moments, axis
    tctx.strokeStyle = "#666";
    for (const s of D.starts) { if (s > 0 && s >= a && s <= b) { tctx.beginPath(); tctx.moveTo(stepToX(s), 0); tctx.lineTo(stepToX(s), 205); tctx.stroke(); } }
    D.moments.forEach((m, i) => {
      if (m.step < a || m.step > b) return;
      const x = stepToX(m.step);
      tctx.strokeStyle = "#cc79a7"; tctx.setLineDash([3, 3]);
      tctx.beginPath(); tctx.moveTo(x, 12); tctx.lineTo(x, 205); tctx.stroke(); tctx.setLineDash([]);
      tctx.fillStyle = "#cc79a7"; tctx.beginPath(); tctx.arc(x, 8, 7, 0, 2 * Math.PI); tctx.fill();
      tctx.fillStyle = "#000"; tctx.textAlign = "center"; tctx.fillText(String(i + 1), x, 12); tctx.textAlign = "left";
    });
    tctx.fillStyle = "#888"; tctx.strokeStyle = "#444";
    tctx.beginPath(); tctx.moveTo(x0(), 212); tctx.lineTo(x1(), 212); tctx.stroke();
    const span = b - a, tick = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000].find((t) => span / t <= 12) || 20000;
    for (let s = Math.ceil(a / tick) * tick; s <= b; s += tick) { tctx.fillText(String(s), stepToX(s) - 8, 226); }
    tctx.fillText("step", 4, 226);
    // the cursor
    const cx = stepToX(state.step);
    tctx.strokeStyle = "#fff"; tctx.lineWidth = 2; tctx.beginPath(); tctx.moveTo(cx, 0); tctx.lineTo(cx, 212); tctx.stroke();
    tctx.lineWidth = 1;
    tctx.fillStyle = "#ccc";
    tctx.fillText(C ? "value: blue = " + D.agent.name + ", dashed pink = " + C.name + " (same frames); red marks under the moves: they disagree"
                    : "value (blue), moves coloured by action, bar height = its probability", PAD, 246);
  }

  function zoom(factor, around) {
    const [v0, v1] = state.view;
    const c = around !== undefined ? around : state.step;
    let span = Math.max(20, Math.min(N - 1, (v1 - v0) * factor));
    let n0 = c - (c - v0) * span / (v1 - v0);
    n0 = Math.max(0, Math.min(n0, N - 1 - span));
    state.view = [n0, n0 + Math.max(span, 1)];
    drawTimeline();
  }
  function eventStep(e) { const r = tl.getBoundingClientRect(); return clampStep(xToStep((e.clientX - r.left) * tl.width / r.width)); }
  tl.addEventListener("mousedown", (e) => { state.dragging = true; go(eventStep(e)); });
  window.addEventListener("mousemove", (e) => { if (state.dragging) go(eventStep(e)); });
  window.addEventListener("mouseup", () => { state.dragging = false; });
  tl.addEventListener("wheel", (e) => { e.preventDefault(); zoom(e.deltaY > 0 ? 1.25 : 0.8, eventStep(e)); }, { passive: false });
  tl.addEventListener("dblclick", () => { state.view = [0, Math.max(N - 1, 1)]; drawTimeline(); });

  // ---------- the frame and its maps ----------
  const FW = D.frame[0], FH = D.frame[1], S = D.obs;
  const scratch = document.createElement("canvas");  // one map tile, scaled from here (no bleeding across tiles)

  function drawFrame(ctx, step, filter) {
    const img = atlas("frame", step);
    if (!ready(img)) return false;
    const [sx, sy] = tile(step, FW, FH);
    ctx.imageSmoothingEnabled = false;
    ctx.filter = filter || "none";
    ctx.drawImage(img, sx, sy, FW, FH, 0, 0, ctx.canvas.width, ctx.canvas.height);
    ctx.filter = "none";
    return true;
  }
  function drawBackdrop(ctx, step, backdrop) {  // colormaps.dimmed_gray: gray * gain + lift
    const img = atlas("gray", step);
    if (!ready(img)) return false;
    const [sx, sy] = tile(step, FW, FH);
    const [gain, lift] = backdrop;
    ctx.imageSmoothingEnabled = false;
    ctx.filter = "brightness(" + gain + ")";
    ctx.drawImage(img, sx, sy, FW, FH, 0, 0, ctx.canvas.width, ctx.canvas.height);
    ctx.filter = "none";
    ctx.globalCompositeOperation = "lighter";
    ctx.fillStyle = "rgb(" + lift + "," + lift + "," + lift + ")";
    ctx.fillRect(0, 0, ctx.canvas.width, ctx.canvas.height);
    ctx.globalCompositeOperation = "source-over";
    return true;
  }
  function drawMap(canvas, layerKey, step) {
    const ctx = canvas.getContext("2d");
    const layer = D.layers.find((l) => l.key === layerKey);
    if (!layer) { ctx.clearRect(0, 0, canvas.width, canvas.height); return true; }
    // every map is read over the frame's gray, dimmed as in the videos: gray * gain + lift
    const ok = drawBackdrop(ctx, step, layer.backdrop);
    const img = atlas(layer.key, step);
    if (!ok || !ready(img)) return false;
    const [TW, TH] = layer.tile;
    const [sx, sy] = tile(step, TW, TH);
    if (scratch.width !== TW || scratch.height !== TH) { scratch.width = TW; scratch.height = TH; }
    const sctx = scratch.getContext("2d");
    sctx.clearRect(0, 0, TW, TH);
    sctx.drawImage(img, sx, sy, TW, TH, 0, 0, TW, TH);
    ctx.imageSmoothingEnabled = true;
    ctx.globalAlpha = state.opacity;
    ctx.drawImage(scratch, 0, 0, TW, TH, 0, 0, canvas.width, canvas.height);
    ctx.globalAlpha = 1;
    return true;
  }
  function legend(barId, textId, layer) {
    const bar = $(barId);
    bar.hidden = !layer;
    if (layer) {
      const kind = LEGEND[layer.palette];
      bar.querySelector("img").src = "img/legend-" + kind + ".png";
      const ends = bar.querySelectorAll("span");
      ends[0].textContent = kind === "diverging" ? WORDS.against : kind === "critic" ? WORDS.critic : WORDS.actor;
      ends[1].textContent = kind === "diverging" ? WORDS.for : "";
      const rgb = (name) => D.colours && D.colours[name] ? "rgb(" + D.colours[name].join(",") + ")" : "";
      ends[0].style.color = rgb(kind === "diverging" ? "against" : kind);
      ends[1].style.color = rgb("for");
    }
    const full = !layer ? "" : layer.palette === "relevance" ? "full colour at |R| \u2265 " + layer.scale
      : layer.palette === "critic" ? "thin line at " + +(layer.levels[0] * layer.scale).toPrecision(3) + ", thick at " + +(layer.levels[1] * layer.scale).toPrecision(3)
      : "full colour at \u2265 " + layer.scale;
    $(textId).textContent = layer ? layer.legend + ". One scale for the whole rollout: " + full + (layer.palette === "critic" ? "." : " (the 95th percentile of the frames' peaks; brightness grows with the square root).") : "";
  }
  function bars(boxId, actions, logits, probs, chosen, other) {
    const box = $(boxId);
    box.innerHTML = "";
    const q = !probs || !probs.length;
    const vals = q ? logits : probs;
    const lo = q ? Math.min(...vals) : 0, hi = q ? Math.max(...vals) : 1;
    actions.forEach((name, i) => {
      const row = document.createElement("div");
      row.className = "probrow" + (i === chosen ? " chosen" : "");
      const frac = hi > lo ? (vals[i] - lo) / (hi - lo) : 0;
      row.innerHTML = "<span></span><div class='track'><div class='fill'></div></div><span></span>";
      row.children[0].textContent = name + (i === other ? " \u25c6" : "");
      row.children[1].firstChild.style.width = (100 * frac).toFixed(1) + "%";
      row.children[2].textContent = q ? vals[i].toFixed(3) : (100 * vals[i]).toFixed(1) + "%";
      box.appendChild(row);
    });
  }

  let pendingDraw = false;
  function draw() {
    if (pendingDraw) return;
    pendingDraw = true;
    requestAnimationFrame(() => { pendingDraw = false; drawNow(); });
  }
  function drawNow() {
    const s = state.step, C = D.compare;
    drawTimeline();
    let done = drawFrame($("frame").getContext("2d"), s);
    const layer = D.layers.find((l) => l.key === state.layer);
    done = drawMap($("map"), state.layer, s) && done;
    $("map-caption").textContent = layer ? "'" + D.agent.name + "': " + layer.label : "no explanation computed";
    legend("legend-bar", "legend-text", layer);
    if (C) {
      const bKey = "b-" + state.layer, bl = D.layers.find((l) => l.key === bKey);
      done = drawMap($("map-b"), bKey, s) && done;
      $("map-b-caption").textContent = "'" + C.name + "' on the same frame: " + (bl ? bl.label : "");
      legend("legend-b-bar", "legend-b-text", bl);
      bars("probs-b", C.actions, C.logits[s], C.probs[s], C.action[s], D.action[s]);
    }
    if ($("show-stack").checked) done = drawStack(s) && done;
    if (O && $("show-objects").checked) {
      for (const id of ["frame", "map"].concat(C ? ["map-b"] : [])) drawObjects($(id), s);
      listObjects(s);
    }
    bars("probs", D.agent.actions, D.logits[s], D.probs[s], D.action[s], C ? C.action[s] : -1);
    $("frame-step").textContent = s;
    $("step-label").textContent = "step " + s + " of " + (N - 1) + (D.starts.length > 1 ? " (game " + (D.episode[s] + 1) + ")" : "");
    const r = D.reward[s];
    $("readout").textContent = "value " + D.value[s].toFixed(3) + (C ? " (" + C.name + ": " + C.value[s].toFixed(3) + ")" : "") +
      " \u00b7 score " + D.score[s] + (r ? " \u00b7 reward " + (r > 0 ? "+" : "") + r : "") + (D.lives[s] ? " \u00b7 lives " + D.lives[s] : "") +
      (D.entropy.length ? " \u00b7 entropy " + D.entropy[s].toFixed(2) : "");
    if (done) {
      document.body.dataset.drawn = String(s);  // tests wait for this
      if (!window.rlvizFirstDraw) window.rlvizFirstDraw = performance.now();
    }
    for (const l of ["frame"].concat(state.layer ? [state.layer] : [])) atlas(l, Math.min(N - 1, s + D.chunk));  // preload the next chunk
  }
  function drawStack(s) {
    const box = $("stack");
    if (!box.children.length) {
      for (let i = 0; i < D.stack[0].length; i++) {
        const f = document.createElement("figure");
        f.innerHTML = "<canvas width='84' height='84'></canvas><figcaption></figcaption>";
        box.appendChild(f);
      }
    }
    let ok = true;
    D.stack[s].forEach((src, i) => {
      const c = box.children[i].firstChild, ctx = c.getContext("2d");
      const cap = box.children[i].lastChild;
      const newest = i === D.stack[s].length - 1;
      ctx.fillStyle = "#000"; ctx.fillRect(0, 0, 84, 84);
      if (src >= 0) {
        const img = atlas("obs", src);
        if (ready(img)) { const [sx, sy] = tile(src, S, S); ctx.drawImage(img, sx, sy, S, S, 0, 0, 84, 84); } else ok = false;
        cap.textContent = (newest ? "newest: " : "") + "frame of step " + src + " (84x84 gray)";
      } else {
        cap.textContent = src === -1 ? "blank (start of the game)" : "not stored";
      }
    });
    return ok;
  }

  // ---------- objects: boxes with names on the frame and maps, each map's top objects ----------
  // data.js "objects": names; per step boxes [name index, top, left, bottom, right] in observation
  // pixels (the newest stacked frame, the one shown); per map layer and step [[name index, share], ...].
  const O = D.objects;
  const OBJECT_COLOURS = ["#e69f00", "#56b4e9", "#009e73", "#f0e442", "#cc79a7", "#d55e00", "#ffffff", "#0072b2"];
  const objectColour = (i) => OBJECT_COLOURS[i % OBJECT_COLOURS.length];
  function drawObjects(canvas, step) {
    const ctx = canvas.getContext("2d"), sx = canvas.width / S, sy = canvas.height / S;
    ctx.lineWidth = 2; ctx.font = "12px system-ui, sans-serif";
    for (const [i, top, left, bottom, right] of O.boxes[step]) {
      const name = O.names[i], w = ctx.measureText(name).width + 4;
      ctx.strokeStyle = objectColour(i);
      ctx.strokeRect(left * sx - 1, top * sy - 1, (right - left) * sx + 2, (bottom - top) * sy + 2);
      const x = Math.max(0, Math.min(left * sx - 1, canvas.width - w)), y = top * sy > 16 ? top * sy - 16 : bottom * sy + 2;
      ctx.fillStyle = "rgba(0, 0, 0, 0.65)"; ctx.fillRect(x, y, w, 14);
      ctx.fillStyle = objectColour(i); ctx.fillText(name, x + 2, y + 11);
    }
  }
  function fillList(list, items) {  // items: [name index, text]
    list.innerHTML = "";
    for (const [i, text] of items) {
      const li = document.createElement("li");
      li.textContent = text; li.style.setProperty("--c", objectColour(i));
      list.appendChild(li);
    }
  }
  function listObjects(step) {
    fillList($("object-names"), O.boxes[step].map(([i]) => [i, O.names[i]]));
    const shares = (O.shares[state.layer] || [])[step] || [];
    fillList($("object-shares"), shares.map(([i, share]) => [i, O.names[i] + " " + Math.round(100 * share) + "%"]));
    if (!shares.length) $("object-shares").textContent = "no object holds 0.5% of this map";
    else $("object-shares").insertAdjacentHTML("afterbegin", "<li class='label'>share of this map on:</li>");
  }
  if (O) {
    $("objects-toggle").hidden = false;
    $("show-objects").addEventListener("change", (e) => {
      $("object-names").hidden = $("object-shares").hidden = !e.target.checked;
      draw();
    });
  }

  // ---------- moving around ----------
  function go(step, fromHash) {
    state.step = clampStep(step);
    const [v0, v1] = state.view;
    if (state.step < v0 || state.step > v1) { const span = v1 - v0; const n0 = Math.max(0, Math.min(state.step - span / 2, N - 1 - span)); state.view = [n0, n0 + span]; }
    if (!fromHash) {
      const hash = "#step=" + state.step + "&map=" + (state.layer || "");
      try { history.replaceState(null, "", hash); } catch (e) { location.replace(hash); }
    }
    draw();
  }
  function readHash() {
    const h = new URLSearchParams(location.hash.slice(1));
    if (h.has("map") && D.layers.some((l) => l.key === h.get("map"))) selectLayer(h.get("map"), true);
    const s = parseInt(h.get("step"), 10);
    go(Number.isFinite(s) ? s : state.step, true);
  }
  window.addEventListener("hashchange", readHash);

  let timer = null;
  function setPlaying(on) {
    state.playing = on;
    $("play").innerHTML = on ? "&#10074;&#10074; pause" : "&#9654; play";
    clearInterval(timer);
    if (on) {
      timer = setInterval(() => { if (state.step >= N - 1) setPlaying(false); else go(state.step + 1); }, 1000 / parseFloat($("speed").value));
    }
  }
  $("play").addEventListener("click", () => setPlaying(!state.playing));
  $("speed").addEventListener("change", () => { if (state.playing) setPlaying(true); });
  $("zoom-in").addEventListener("click", () => zoom(0.5));
  $("zoom-out").addEventListener("click", () => zoom(2));
  $("zoom-reset").addEventListener("click", () => { state.view = [0, Math.max(N - 1, 1)]; drawTimeline(); });
  document.addEventListener("keydown", (e) => {
    if (e.target.tagName === "SELECT" || (e.target.tagName === "INPUT" && e.target.type === "range")) return;
    const k = e.shiftKey ? 10 : 1;
    if (e.key === "ArrowRight") go(state.step + k);
    else if (e.key === "ArrowLeft") go(state.step - k);
    else if (e.key === " ") setPlaying(!state.playing);
    else if (e.key === "Home") go(0);
    else if (e.key === "End") go(N - 1);
    else if (e.key === "+" || e.key === "=") zoom(0.5);
    else if (e.key === "-") zoom(2);
    else return;
    e.preventDefault();
  });

  // ---------- method toggles, opacity, stack ----------
  function selectLayer(key, quiet) {
    state.layer = key;
    for (const input of document.querySelectorAll("#methods input")) input.checked = input.value === key;
    if (!quiet) go(state.step);
  }
  for (const l of D.layers.filter((l) => l.who === 0)) {
    const lab = document.createElement("label");
    lab.innerHTML = "<input type='radio' name='method'> <span></span>";
    lab.firstChild.value = l.key; lab.firstChild.id = "method-" + l.key;
    lab.lastChild.textContent = l.label;
    lab.firstChild.addEventListener("change", () => selectLayer(l.key));
    $("methods").appendChild(lab);
  }
  $("opacity").addEventListener("input", (e) => { state.opacity = parseFloat(e.target.value); draw(); });
  $("show-stack").addEventListener("change", (e) => { $("stack").hidden = !e.target.checked; draw(); });

  // ---------- lists, compare, summary, tabs ----------
  function item(list, text, step) {
    const li = document.createElement("li");
    li.textContent = text;
    li.dataset.step = step;
    li.addEventListener("click", () => go(step));
    list.appendChild(li);
  }
  D.moments.forEach((m) => item($("moments"), "step " + m.step + ": " + m.text, m.step));
  if (!D.moments.length) $("moments").textContent = "none found";
  if (D.compare) {
    const C = D.compare;
    $("map-b-panel").hidden = false; $("probs-b-box").hidden = false; $("disagree-box").hidden = false;
    $("probs-title").textContent = "'" + D.agent.name + "' chose (\u25c6: what '" + C.name + "' would do)";
    $("probs-b-title").textContent = "'" + C.name + "' would choose, on the same frame";
    $("disagree-count").textContent = C.disagreements.length + " of " + N + " steps: '" + C.name + "' would have chosen another move";
    for (const s of C.disagreements) item($("disagreements"), "step " + s + ": " + D.agent.actions[D.action[s]] + " vs " + C.actions[C.action[s]], s);
  }
  $("title").textContent = D.agent.title + (D.compare ? " compared with '" + D.compare.name + "'" : "");
  $("subtitle").textContent = D.agent.subtitle + " \u00b7 " + N + " steps from reset seed " + D.seed + ", played greedily";
  $("warning").textContent = D.agent.warning;
  document.title = "rlviz: " + D.agent.name + " on " + D.agent.game;
  $("card").innerHTML = D.summary.card || "<p>No model card: pass the agent's folder to see it here.</p>";
  for (const f of D.summary.figures) {
    const fig = document.createElement("figure");
    fig.innerHTML = "<img alt=''><figcaption></figcaption>";
    fig.firstChild.src = f.src; fig.lastChild.textContent = f.caption;
    $("figures").appendChild(fig);
  }
  // ---------- the summary of many frames (rlviz summarize): per move, its attribution graph ----------
  const M = D.summary.summit;
  const fmt = (v, d) => (typeof v === "number" ? +v.toFixed(d === undefined ? 3 : d) : v);
  function extraList(parent, extra) {  // fields of a newer summary this page does not know, shown as they are
    if (!extra || !extra.length) return;
    const dl = document.createElement("dl");
    dl.className = "extra";
    for (const [k, v] of extra) {
      const dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = k; dd.textContent = v;
      dl.appendChild(dt); dl.appendChild(dd);
    }
    parent.appendChild(dl);
  }
  function exampleTile(ex) {  // the example's frame from this report's observations, its window in the summary's box colour
    const c = document.createElement("canvas");
    c.width = c.height = 84;
    const ctx = c.getContext("2d");
    const img = atlas("obs", ex.at);
    const paint = () => {
      const [sx, sy] = tile(ex.at, S, S);
      ctx.drawImage(img, sx, sy, S, S, 0, 0, 84, 84);
      if (ex.box) { ctx.strokeStyle = "rgb(" + M.box.join(",") + ")"; ctx.lineWidth = 1.5; const [x0, y0, x1, y1] = ex.box; ctx.strokeRect(x0 * 84 / S, y0 * 84 / S, (x1 - x0) * 84 / S, (y1 - y0) * 84 / S); }
    };
    if (ready(img)) paint(); else img.addEventListener("load", paint);
    return c;
  }
  function showMove(i) {
    const mv = M.moves[i];
    document.querySelectorAll("#summit-moves button").forEach((b, j) => b.classList.toggle("active", i === j));
    $("summit-caption").textContent = mv.caption;
    const graph = $("summit-graph");
    graph.innerHTML = "";
    const into = {};  // vertex id -> [[source id, weight], ...]
    for (const e of mv.edges) (into[e.target] = into[e.target] || []).push([e.source, e.weight]);
    const columns = M.layers.map(() => []);
    for (const v of mv.vertices) (columns[v.column] || columns[0]).push(v);
    columns.forEach((vs, li) => {
      const col = document.createElement("div");
      col.className = "column";
      col.innerHTML = "<h3></h3>";
      col.firstChild.textContent = M.layers[li] + (li === 0 ? ": simple patterns" : li === M.layers.length - 1 ? ": what the move reads" : "");
      for (const v of vs) {
        const box = document.createElement("div");
        box.className = "vertex"; box.id = "vertex-" + v.id.replace(":", "-");
        const push = (into.action || []).find(([src]) => src === v.id);
        const fed = (into[v.id] || []).map(([src, w]) => src.replace(":", " #") + " (" + Math.round(100 * w) + "% of frames)");
        box.innerHTML = "<h4></h4><p class='words'></p><p class='numbers'></p><div class='examples'></div>";
        box.children[0].textContent = v.layer + " #" + v.channel;
        box.children[1].textContent = v.words;
        box.children[2].textContent = (push ? "push on " + mv.move + "'s score " + (push[1] >= 0 ? "+" : "") + fmt(push[1]) + " \u00b7 " : "") +
          "selectivity " + fmt(v.selectivity, 2) + (fed.length ? " \u00b7 top inputs: " + fed.join(", ") : "");
        const away = [];
        for (const ex of v.examples) {
          const label = "game " + (ex.episode + 1) + ", step " + ex.step;
          if (ex.at === null || ex.at === undefined) { away.push([label, ex]); continue; }
          const fig = document.createElement("figure");
          fig.className = "linked"; fig.dataset.step = ex.at; fig.title = "show step " + ex.at + " of this report";
          fig.appendChild(exampleTile(ex));
          fig.addEventListener("click", () => { tab("explore"); go(ex.at); });
          const cap = document.createElement("figcaption");
          cap.textContent = label;
          fig.appendChild(cap);
          extraList(fig, ex.extra);
          box.children[3].appendChild(fig);
        }
        if (away.length) {
          const p = document.createElement("p");
          p.className = "unlinked";
          p.textContent = (away.length === v.examples.length ? "examples" : "more examples") + ", not in this report's rollout: " +
            away.map(([label]) => label).join("; ");
          box.appendChild(p);
          for (const [, ex] of away) extraList(box, ex.extra);
        }
        extraList(box, v.extra);
        col.appendChild(box);
      }
      graph.appendChild(col);
    });
    const last = document.createElement("div");
    last.className = "column move"; last.innerHTML = "<h3>the move</h3><div class='vertex'><h4></h4><p class='words'></p></div>";
    last.querySelector("h4").textContent = mv.move;
    last.querySelector(".words").textContent = "chosen on " + mv.frames + " of " + M.frames + " frames";
    graph.appendChild(last);
    const top = $("summit-top");
    top.innerHTML = "";
    for (const [layer, rows] of Object.entries(mv.top || {})) {
      const p = document.createElement("p");
      p.textContent = layer + ", most selective for " + mv.move + ": " + rows.map((r) => "#" + r.channel + " (" + fmt(r.selectivity, 2) + ")").join(", ");
      top.appendChild(p);
    }
    $("summit-figure").hidden = !mv.figure;
    if (mv.figure) $("summit-figure").src = mv.figure;
    $("summit-extra").innerHTML = "";
    extraList($("summit-extra"), mv.extra);
  }
  if (M) {
    $("summit").hidden = false;
    $("summit-source").textContent = "rlviz summarize of '" + M.agent + "'";
    $("summit-intro").textContent = "Over " + M.frames + " frames of " + M.episodes + (M.episodes === 1 ? " greedy game" : " greedy games") + " from reset seed " + M.seed +
      ", per move: the channels (detectors) of each layer that matter most and how they feed each other, left to right, ending in the move. " +
      (M.linked ? M.linked + " dataset examples are steps of this report: click one to see it there." :
        "None of its dataset examples is a step of this report" + (M.same_agent ? " (play the same seed and more steps to link them)." : " (it summarises another agent).")) +
      " A channel's top inputs: how often each was among its 5 strongest inputs (Summit's count, Hohman et al. 2019); its push: the mean" +
      " gradient x activation of the move's score against the others' mean. See docs/summary.md.";
    M.moves.forEach((mv, i) => {
      const b = document.createElement("button");
      b.className = "tab"; b.textContent = mv.move + (mv.label && mv.label !== mv.move ? " = " + mv.label : "") + " (" + mv.frames + ")";
      b.addEventListener("click", () => showMove(i));
      $("summit-moves").appendChild(b);
    });
    extraList($("summit"), M.extra);
    if (M.moves.length) showMove(0);
  }
  function tab(name) {
    $("explore").hidden = name !== "explore"; $("summary").hidden = name !== "summary";
    $("tab-explore").classList.toggle("active", name === "explore"); $("tab-summary").classList.toggle("active", name === "summary");
  }
  $("tab-explore").addEventListener("click", () => tab("explore"));
  $("tab-summary").addEventListener("click", () => tab("summary"));

  function fit() { tl.width = Math.max(600, Math.round(tl.getBoundingClientRect().width)); drawTimeline(); }
  window.addEventListener("resize", fit);
  window.rlviz = { state, go, selectLayer, data: D, tab };
  selectLayer(state.layer, true);
  fit();
  readHash();
})();
