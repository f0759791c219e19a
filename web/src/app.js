// swarmcast demo page: plays the live stream with hls.js + P2P Media Loader 2.3.1, checks
// every segment against the origin's SHA-256 manifest, and shows where the bytes came
// from (HTTP origin, other viewers, the seeder), for this viewer and for the whole swarm.
import Hls from "hls.js";
import { HlsJsP2PEngine } from "p2p-media-loader-hlsjs";
import { sha256Hex } from "./sha256.js";

const params = new URLSearchParams(location.search);
const wsScheme = location.protocol === "https:" ? "wss:" : "ws:";
// Everything derives from the page's own location; query parameters may override it.
const trackerURL = params.get("tracker") || `${wsScheme}//${location.host}/`;
const reportURL = "/api/stats";
const demoURL = "/api/demo"; // {stream, swarmId, liveSyncDurationCount, seederPeerIds, seeder, analytics}
let streamURL = new URL(params.get("stream") || "/hls/master.m3u8", location.href).href;
let hlsRoot = streamURL.slice(0, streamURL.lastIndexOf("/") + 1);

const viewerId = "v" + Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => (b % 36).toString(36)).join("");

// Counters (cumulative since the page loaded), from P2P Media Loader's own events. Bytes from
// peers are kept per remote peer_id (PML 2.x names a peer by its tracker peer_id), so that
// the seeder's share can be told apart once the server has said which peer_ids are the
// seeder's (GET /api/demo): its peer_ids carry the same client prefix as any 2.3 viewer.
const stats = { http: 0, p2p: 0, uploaded: 0, rejected: 0, fromPeer: {}, upTo: {}, connected: new Set() };
const seederIds = new Set();
let demo = { seeder: false, analytics: false };
function seederBytes() {
  let n = 0;
  for (const [id, b] of Object.entries(stats.fromPeer)) if (seederIds.has(id)) n += b;
  return n;
}
// A plain snapshot, read by the end-to-end test and by the report.
function snapshot() {
  const seeder = seederBytes();
  const v = document.getElementById("video");
  const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : { totalVideoFrames: 0 };
  return {
    viewer: viewerId, http: stats.http, p2p: stats.p2p, seeder, peers: stats.p2p - seeder, uploaded: stats.uploaded,
    rejected: stats.rejected, connected: stats.connected.size, fromPeer: { ...stats.fromPeer }, upTo: { ...stats.upTo },
    seederPeerIds: [...seederIds], currentTime: v.currentTime, paused: v.paused, readyState: v.readyState,
    decodedFrames: q.totalVideoFrames, stream: streamURL, tracker: trackerURL, swarmId: demo.swarmId || "",
    lastReport, swarm: window.swarmcastSwarm || null,
  };
}
let lastReport = null; // the last report the server accepted
window.swarmcastStats = snapshot;

async function loadDemoInfo() {
  try {
    const res = await fetch(demoURL, { cache: "no-store" });
    if (!res.ok) return false;
    demo = await res.json();
    for (const id of demo.seederPeerIds || []) seederIds.add(id);
    return true;
  } catch (e) {
    console.warn("demo info", e);
    return false;
  }
}

// ---- segment integrity -----------------------------------------------------------------
let manifest = {};
let manifestFetched = 0;
async function refreshManifest() {
  const res = await fetch(hlsRoot + "segments-sha256.json", { cache: "no-store" });
  if (!res.ok) throw new Error(`manifest: HTTP ${res.status}`);
  const body = await res.json();
  manifest = body.segments || {};
  manifestFetched = Date.now();
}
async function expectedHash(url) {
  const key = url.startsWith(hlsRoot) ? url.slice(hlsRoot.length).split("?")[0] : null;
  if (key === null) return null;
  if (!(key in manifest) && Date.now() - manifestFetched > 500) {
    try { await refreshManifest(); } catch (e) { console.warn(e); }
  }
  return manifest[key] || null;
}
// P2P Media Loader calls this for every segment received from a peer; false drops it
// (and the peer that sent it) and the segment is fetched again.
async function validateP2PSegment(url, byteRange, data) {
  const want = await expectedHash(url);
  if (!want) return false; // unknown to the origin: refuse rather than play unverified bytes
  const ok = (await sha256Hex(data)) === want;
  if (!ok) stats.rejected++;
  return ok;
}

// ---- player ----------------------------------------------------------------------------
const video = document.getElementById("video");
const statusEl = document.getElementById("status");
function setStatus(text) { statusEl.textContent = text; }

function start() {
  if (!Hls.isSupported()) { setStatus("This browser cannot play HLS with Media Source Extensions."); return; }
  const ownStream = !params.get("stream");
  if (ownStream && demo.stream) {
    streamURL = new URL(demo.stream, location.href).href;
    hlsRoot = streamURL.slice(0, streamURL.lastIndexOf("/") + 1);
  }
  const core = { announceTrackers: [trackerURL], rtcConfig: { iceServers: [] }, validateP2PSegment };
  // The seeder joins the swarms of its swarmId; a page playing another stream must not.
  if (ownStream && demo.swarmId) core.swarmId = demo.swarmId;
  const hlsConfig = {};
  // P2P Media Loader 2.x fetches everything within 15 s of the playhead over HTTP, so the
  // player must sit well behind live for peers to help. PML sets liveSyncDurationCount to
  // playlist length − 1 itself, but hls.js 1.6 picks its start position before PML does
  // (docs/browser-tests.md), so the page sets the same value up front.
  if (ownStream && demo.liveSyncDurationCount > 0) hlsConfig.liveSyncDurationCount = demo.liveSyncDurationCount;
  const HlsWithP2P = HlsJsP2PEngine.injectMixin(Hls);
  const hls = new HlsWithP2P({
    ...hlsConfig,
    p2p: {
      core,
      onHlsJsCreated(h) {
        const engine = h.p2pEngine;
        engine.addEventListener("onChunkDownloaded", (bytes, source, peerId) => {
          if (source === "http") { stats.http += bytes; return; }
          stats.p2p += bytes;
          const id = peerId || "?";
          stats.fromPeer[id] = (stats.fromPeer[id] || 0) + bytes;
        });
        engine.addEventListener("onChunkUploaded", (bytes, peerId) => {
          stats.uploaded += bytes;
          const id = peerId || "?";
          stats.upTo[id] = (stats.upTo[id] || 0) + bytes;
        });
        engine.addEventListener("onPeerConnect", ({ peerId }) => { stats.connected.add(peerId); });
        engine.addEventListener("onPeerClose", ({ peerId }) => { stats.connected.delete(peerId); });
      },
    },
  });
  hls.on(Hls.Events.ERROR, (_, d) => { if (d.fatal) setStatus(`playback error: ${d.details}`); });
  hls.on(Hls.Events.MANIFEST_PARSED, () => { video.play().catch(() => setStatus("press play to start")); });
  hls.attachMedia(video);
  hls.loadSource(streamURL);
  setStatus(`stream ${streamURL} · tracker ${trackerURL}`);
  window.swarmcastHls = hls;
  window.swarmcastStop = () => hls.stopLoad();
}

// ---- figures, chart and reports --------------------------------------------------------
function human(n) {
  const u = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}
function pct(p2p, http) { return p2p + http > 0 ? `${((100 * p2p) / (p2p + http)).toFixed(1)} %` : "–"; }
const $ = (id) => document.getElementById(id);

const history = []; // {http, peers, seeder} per second
const chart = $("chart");
function drawChart() {
  const ctx = chart.getContext("2d");
  const w = chart.width, h = chart.height;
  ctx.clearRect(0, 0, w, h);
  if (history.length < 2) return;
  const max = Math.max(1, ...history.map((s) => s.http + s.peers + s.seeder));
  const x = (i) => (i / (history.length - 1)) * w;
  const y = (v) => h - (v / max) * (h - 10);
  const css = getComputedStyle(document.documentElement);
  // stacked areas: seeder at the bottom, then other viewers, then HTTP
  const layers = [["seeder", "--seeder"], ["peers", "--peers"], ["http", "--http"]];
  let base = history.map(() => 0);
  for (const [key, color] of layers) {
    const top = history.map((s, i) => base[i] + s[key]);
    ctx.beginPath();
    top.forEach((v, i) => (i ? ctx.lineTo(x(i), y(v)) : ctx.moveTo(x(i), y(v))));
    for (let i = base.length - 1; i >= 0; i--) ctx.lineTo(x(i), y(base[i]));
    ctx.closePath();
    ctx.fillStyle = css.getPropertyValue(color).trim();
    ctx.fill();
    base = top;
  }
  ctx.fillStyle = "#1d2330";
  ctx.font = "12px system-ui";
  ctx.fillText(human(max), 4, 12);
}

function renderMine() {
  const seeder = seederBytes();
  $("me-http").textContent = human(stats.http);
  $("me-peers").textContent = human(stats.p2p - seeder);
  $("me-seeder").textContent = human(seeder);
  $("me-up").textContent = human(stats.uploaded);
  $("me-conns").textContent = String(stats.connected.size);
  $("me-offload").textContent = pct(stats.p2p, stats.http);
}

async function report() {
  if (demo.seeder && seederIds.size === 0) await loadDemoInfo(); // the seeder joins once the stream is up
  const body = {
    viewer: viewerId, http: stats.http, p2p: stats.p2p, seeder: seederBytes(),
    uploaded: stats.uploaded, peers: stats.connected.size, generation: "pml-2.3.1",
  };
  try {
    const post = await fetch(reportURL, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    if (post.ok) lastReport = body;
    const res = await fetch(reportURL, { cache: "no-store" });
    if (!res.ok) return;
    const t = await res.json();
    $("sw-viewers").textContent = String(t.viewers);
    $("sw-http").textContent = human(t.httpBytes);
    $("sw-p2p").textContent = human(t.p2pBytes);
    $("sw-seeder").textContent = human(t.seederBytes);
    $("sw-offload").textContent = `${t.offloadPercent.toFixed(1)} %`;
    window.swarmcastSwarm = t;
  } catch (e) {
    console.warn("report failed", e);
  }
}

setInterval(() => {
  const seeder = seederBytes();
  history.push({ http: stats.http, peers: stats.p2p - seeder, seeder });
  if (history.length > 180) history.shift();
  renderMine();
  drawChart();
}, 1000);
loadDemoInfo().then(() => {
  start(); // sets streamURL and hlsRoot
  refreshManifest().catch((e) => console.warn(e));
  if (demo.analytics) setInterval(report, 3000);
});
