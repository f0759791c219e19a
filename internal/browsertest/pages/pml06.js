// Starts hls.js 0.14 with P2P Media Loader 0.6 (both loaded as the classic scripts they publish,
// window.Hls and window.p2pml) using the settings harness.js took from the query string.
(function () {
  "use strict";
  const h = window.swarmcastHarness;
  const cfg = h.config;
  if (!window.p2pml || !window.Hls) {
    h.fail("p2pml or Hls is not loaded");
    return;
  }
  if (!p2pml.hlsjs.Engine.isSupported()) {
    h.fail("p2pml.hlsjs.Engine.isSupported() is false");
    return;
  }
  // 0.6 reports peers by the hex of their 20-byte peer_id; show the peer_id itself, as 2.x does.
  const peerName = (id) => {
    if (typeof id !== "string" || !/^([0-9a-f]{2})+$/.test(id)) return id;
    let s = "";
    for (let i = 0; i < id.length; i += 2) s += String.fromCharCode(parseInt(id.substr(i, 2), 16));
    return /^[\x20-\x7e]+$/.test(s) ? s : id;
  };
  const loader = Object.assign({ trackerAnnounce: [cfg.tracker], rtcConfig: { iceServers: [] } }, cfg.core);
  const engine = new p2pml.hlsjs.Engine({
    loader: loader,
    segments: cfg.swarmId ? { swarmId: cfg.swarmId } : {},
  });
  engine.on("piece_bytes_downloaded", (method, bytes, peerId) => h.downloaded(method, bytes, peerName(peerId)));
  engine.on("piece_bytes_uploaded", (method, bytes, peerId) => h.uploaded(bytes, peerName(peerId)));
  engine.on("peer_connect", (peer) => h.peerConnect(peerName(peer.id)));
  engine.on("peer_close", (id) => h.peerClose(peerName(id)));
  engine.on("segment_loaded", (segment, peerId) => h.segmentLoaded(peerId ? peerName(peerId) : undefined));
  engine.on("segment_error", (segment, err) => h.note("segment error: " + String(err)));

  const hls = new Hls(Object.assign({ liveSyncDurationCount: 7 }, cfg.hls, { loader: engine.createLoaderClass() }));
  p2pml.hlsjs.initHlsJsPlayer(hls);
  hls.on(Hls.Events.ERROR, (_, d) => {
    if (d.fatal) h.fail("hls.js fatal error: " + d.type + " " + d.details);
  });
  h.setPlayer({
    version: "hls.js " + Hls.version + ", p2p-media-loader " + p2pml.hlsjs.version,
    stop: () => hls.stopLoad(),
    latency: () => h.latency(hls),
  });
  hls.loadSource(cfg.stream);
  hls.attachMedia(h.video);
})();
