// Entry point of the PML 2.x bundle: hls.js and p2p-media-loader-hlsjs as published on npm,
// unmodified, started with the settings harness.js took from the query string.
import Hls from "hls.js";
import { HlsJsP2PEngine } from "p2p-media-loader-hlsjs";

const h = window.swarmcastHarness;
const cfg = h.config;

const core = Object.assign(
  { announceTrackers: [cfg.tracker], rtcConfig: { iceServers: [] } },
  cfg.swarmId ? { swarmId: cfg.swarmId } : {},
  cfg.core,
);
const HlsWithP2P = HlsJsP2PEngine.injectMixin(Hls);
const hls = new HlsWithP2P(Object.assign({}, cfg.hls, { p2p: { core } }));
const engine = hls.p2pEngine;

engine.addEventListener("onChunkDownloaded", (bytes, source, peerId) => h.downloaded(source, bytes, peerId));
engine.addEventListener("onChunkUploaded", (bytes, peerId) => h.uploaded(bytes, peerId));
engine.addEventListener("onPeerConnect", (p) => h.peerConnect(p.peerId));
engine.addEventListener("onPeerClose", (p) => h.peerClose(p.peerId));
engine.addEventListener("onSegmentLoaded", (d) => h.segmentLoaded(d.downloadSource === "p2p" ? d.peerId || "p2p" : undefined));
engine.addEventListener("onSegmentError", (d) => h.note("segment error: " + (d.error && d.error.type)));
engine.addEventListener("onTrackerError", (d) => h.note("tracker error: " + String(d.error)));
engine.addEventListener("onTrackerWarning", (d) => h.note("tracker warning: " + String(d.warning)));

hls.on(Hls.Events.ERROR, (_, d) => {
  if (d.fatal) h.fail("hls.js fatal error: " + d.type + " " + d.details);
});
h.setPlayer({
  version: "hls.js " + Hls.version + ", p2p-media-loader 2.x",
  stop: () => hls.stopLoad(),
  latency: () => h.latency(hls),
});
hls.attachMedia(h.video);
hls.loadSource(cfg.stream);
