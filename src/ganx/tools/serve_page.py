"""The page `ganx serve` sends: plain HTML and JavaScript, nothing loaded from the network."""

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ganx serve</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;max-width:70em;color:#222}
fieldset{border:1px solid #ccc;margin:0 0 1em 0;padding:.6em 1em}
label{margin-right:1.2em}input[type=number]{width:7em}
#grid img,#path img{image-rendering:pixelated;min-width:256px;max-width:100%;
border:1px solid #ddd;margin:.3em 0}
#error{color:#b00;min-height:1.2em}pre{white-space:pre-wrap;background:#f6f6f6;padding:.5em}
</style></head><body>
<h1 id="title">ganx serve</h1>
<p id="about"></p>
<div id="error" role="alert"></div>
<fieldset><legend>Samples</legend>
<label>seed <input id="seed" type="number" min="0" value="0"></label>
<label>n <input id="n" type="number" min="1" value="16"></label>
<label>truncation <input id="psi" type="range" min="0" max="1" step="0.05" value="1">
<span id="psi-value">1</span></label>
<label id="class-box" hidden>class <select id="label"><option value="-1">all</option></select>
</label>
<label id="prompt-box" hidden>prompt <input id="prompt" type="text" size="40"></label>
<button id="draw">draw</button>
<div id="grid" aria-live="polite"></div></fieldset>
<fieldset><legend>Interpolation</legend>
<label>from seed <input id="a" type="number" min="0" value="0"></label>
<label>to seed <input id="b" type="number" min="0" value="1"></label>
<label>frames <input id="frames" type="number" min="2" value="8"></label>
<button id="walk">interpolate</button>
<div id="path"></div></fieldset>
<script>
const $ = id => document.getElementById(id);
function show(target, result) {
  target.replaceChildren();
  for (const src of result.pictures) {
    const img = document.createElement("img"); img.src = src; img.alt = "samples";
    target.appendChild(img);
  }
  for (const src of result.clips) {
    const audio = document.createElement("audio"); audio.controls = true; audio.src = src;
    target.appendChild(audio);
  }
  if (result.lines.length) {
    const pre = document.createElement("pre"); pre.textContent = result.lines.join("\\n");
    target.appendChild(pre);
  }
  target.dataset.seq = String(Number(target.dataset.seq || 0) + 1);
}
async function ask(url, target) {
  const response = await fetch(url);
  const body = await response.json();
  if (!response.ok) { $("error").textContent = body.error || response.statusText; return; }
  $("error").textContent = ""; show(target, body);
}
function draw() {
  const q = new URLSearchParams({seed: $("seed").value, n: $("n").value,
    truncation: $("psi").value, label: $("label").value, prompt: $("prompt").value});
  return ask("/api/grid?" + q, $("grid"));
}
function walk() {
  const q = new URLSearchParams({a: $("a").value, b: $("b").value,
    frames: $("frames").value, truncation: $("psi").value});
  return ask("/api/interpolate?" + q, $("path"));
}
async function start() {
  const info = await (await fetch("/api/info")).json();
  $("title").textContent = "ganx serve: " + info.domain + " run, step " + info.step;
  $("about").innerHTML = "Truncation pulls latents toward " +
    (info.mapping ? "the mean of w" : "zero") + "." +
    (info.report ? ' <a id="report" href="/report">The run\\'s report</a>.' : "");
  $("n").max = info.max_n; $("frames").max = info.max_frames;
  if (info.classes) {
    $("class-box").hidden = false;
    for (let c = 0; c < info.classes; c++) {
      const o = document.createElement("option"); o.value = c; o.textContent = c;
      $("label").appendChild(o);
    }
  }
  if (info.text) { $("prompt-box").hidden = false; $("prompt").maxLength = info.max_prompt; }
  for (const id of ["seed", "n", "psi", "label"]) $(id).addEventListener("change", draw);
  $("psi").addEventListener("input", () => { $("psi-value").textContent = $("psi").value; });
  $("draw").addEventListener("click", draw); $("walk").addEventListener("click", walk);
  $("prompt").addEventListener("change", draw);
  await draw();
}
start();
</script></body></html>
"""
