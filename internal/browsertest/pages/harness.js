// harness.js runs first on the swarmcast test page. It reads the page's query string, keeps
// WebRTC on loopback, loads the player scripts of the requested P2P Media Loader generation,
// counts the bytes those libraries report, and exposes everything on window for the Go test:
//
//   await window.swarmcastStats()   a JSON-able snapshot (bytes by source, peers, video time,
//                                   the selected ICE candidate pairs seen so far)
//   window.swarmcastStop()          stops loading (hls.stopLoad), so transfers can drain
//
// Query string: stream (playlist URL), tracker (ws:// URL), gen ("2" or "0.6"), and optional
// swarmId, core (JSON merged into the PML core/loader settings), hls (JSON merged into the
// hls.js config), strip ("0" keeps non-loopback ICE candidates of remote descriptions).
(function () {
  "use strict";
  const q = new URLSearchParams(location.search);
  const parseJSON = (name) => {
    const v = q.get(name);
    if (!v) return {};
    try {
      return JSON.parse(v);
    } catch (e) {
      throw new Error("query parameter " + name + " is not JSON: " + e);
    }
  };
  const config = {
    stream: q.get("stream") || "",
    tracker: q.get("tracker") || "",
    gen: q.get("gen") || "2",
    swarmId: q.get("swarmId") || "",
    strip: q.get("strip") !== "0",
    core: parseJSON("core"),
    hls: parseJSON("hls"),
  };

  const stats = {
    gen: config.gen,
    player: "",
    started: Date.now(),
    failed: "",
    notes: [],
    httpBytes: 0,
    p2pBytes: 0,
    uploadedBytes: 0,
    p2pFrom: {},
    uploadedTo: {},
    peerConnects: 0,
    peerCloses: 0,
    peers: {},
    segmentsHTTP: 0,
    segmentsP2P: 0,
    candidatesKept: 0,
    candidatesStripped: 0,
    peerConnections: 0,
    pairs: {},
  };
  const status = document.getElementById("status");
  const video = document.getElementById("video");
  let player = null;

  const add = (m, k, n) => {
    m[k] = (m[k] || 0) + n;
  };
  const note = (s) => {
    if (stats.notes.length < 50) stats.notes.push(new Date().toISOString().slice(11, 23) + " " + s);
    console.log("[swarmcast] " + s);
  };

  window.swarmcastHarness = {
    config: config,
    video: video,
    downloaded(source, bytes, peerId) {
      if (source === "p2p") {
        stats.p2pBytes += bytes;
        add(stats.p2pFrom, peerId || "?", bytes);
      } else {
        stats.httpBytes += bytes;
      }
    },
    uploaded(bytes, peerId) {
      stats.uploadedBytes += bytes;
      add(stats.uploadedTo, peerId || "?", bytes);
    },
    peerConnect(id) {
      stats.peerConnects++;
      stats.peers[id] = true;
      note("peer connect " + id);
    },
    peerClose(id) {
      stats.peerCloses++;
      delete stats.peers[id];
      note("peer close " + id);
    },
    segmentLoaded(peerId) {
      if (peerId) stats.segmentsP2P++;
      else stats.segmentsHTTP++;
    },
    setPlayer(p) {
      player = p;
      stats.player = p.version;
      note("player " + p.version);
    },
    // latency is how far the playhead is behind the end of the newest segment of the current
    // level's playlist (works with hls.js 0.14 and 1.x), and the live sync count in force.
    latency(hls) {
      const level = hls.levels && hls.levels[hls.currentLevel >= 0 ? hls.currentLevel : 0];
      const d = level && level.details;
      if (!d || !d.fragments || !d.fragments.length) return { latency: -1, liveSyncDurationCount: hls.config.liveSyncDurationCount };
      const last = d.fragments[d.fragments.length - 1];
      return { latency: last.start + last.duration - video.currentTime, liveSyncDurationCount: hls.config.liveSyncDurationCount };
    },
    note: note,
    fail(msg) {
      if (!stats.failed) stats.failed = msg;
      note("FAILED: " + msg);
    },
  };
  window.addEventListener("error", (e) => window.swarmcastHarness.fail("uncaught: " + e.message));
  window.addEventListener("unhandledrejection", (e) => note("unhandled rejection: " + String(e.reason)));

  // --- WebRTC on loopback -------------------------------------------------------------------
  // Every RTCPeerConnection the libraries make gets no STUN/TURN servers (so none is contacted),
  // and every remote description loses its non-loopback candidates before it is applied, so
  // connectivity checks only ever target 127.0.0.0/8 or ::1.
  const isLoopback = (addr) => /^127\./.test(addr) || addr === "::1" || addr === "localhost";
  const NativePC = window.RTCPeerConnection;
  const live = new Set();
  if (NativePC) {
    const origSetRemote = NativePC.prototype.setRemoteDescription;
    const origAddCandidate = NativePC.prototype.addIceCandidate;
    const filterSDP = (sdp) =>
      sdp
        .split(/\r\n/)
        .filter((line) => {
          const m = /^a=candidate:\S+ \d+ \S+ \d+ (\S+) \d+ typ/.exec(line);
          if (!m) return true;
          if (isLoopback(m[1])) {
            stats.candidatesKept++;
            return true;
          }
          stats.candidatesStripped++;
          return false;
        })
        .join("\r\n");
    const SwarmcastPC = class extends NativePC {
      constructor(cfg, ...rest) {
        super(Object.assign({}, cfg, { iceServers: [] }), ...rest);
        stats.peerConnections++;
        live.add(this);
      }
      setRemoteDescription(desc, ...rest) {
        if (config.strip && desc && desc.sdp) desc = { type: desc.type, sdp: filterSDP(desc.sdp) };
        return origSetRemote.call(this, desc, ...rest);
      }
      addIceCandidate(c, ...rest) {
        if (config.strip && c && c.candidate) {
          const m = /^(?:a=)?candidate:\S+ \d+ \S+ \d+ (\S+) \d+ typ/.exec(c.candidate);
          if (m && !isLoopback(m[1])) {
            stats.candidatesStripped++;
            return Promise.resolve();
          }
        }
        return origAddCandidate.call(this, c, ...rest);
      }
    };
    window.RTCPeerConnection = SwarmcastPC;
    if (window.webkitRTCPeerConnection) window.webkitRTCPeerConnection = SwarmcastPC;
  } else {
    note("no RTCPeerConnection in this browser");
  }

  // samplePairs records the selected candidate pair of every open peer connection, so the test
  // can check that both ends of every pair that carried data were loopback addresses.
  const samplePairs = async () => {
    for (const pc of Array.from(live)) {
      if (pc.connectionState === "closed" || pc.signalingState === "closed") {
        live.delete(pc);
        continue;
      }
      let report;
      try {
        report = await pc.getStats();
      } catch (e) {
        continue;
      }
      let selected;
      report.forEach((s) => {
        if (s.type === "transport" && s.selectedCandidatePairId) selected = s.selectedCandidatePairId;
      });
      const pair = selected && report.get(selected);
      if (!pair) continue;
      const l = report.get(pair.localCandidateId);
      const r = report.get(pair.remoteCandidateId);
      if (!l || !r) continue;
      const key = (l.address || l.ip) + ":" + l.port + " " + (r.address || r.ip) + ":" + r.port;
      stats.pairs[key] = {
        local: l.address || l.ip,
        remote: r.address || r.ip,
        localType: l.candidateType,
        remoteType: r.candidateType,
        bytesSent: pair.bytesSent || 0,
        bytesReceived: pair.bytesReceived || 0,
      };
    }
  };
  setInterval(samplePairs, 1000);

  window.swarmcastStats = async () => {
    await samplePairs();
    const s = JSON.parse(JSON.stringify(stats));
    s.peers = Object.keys(stats.peers);
    s.pairs = Object.values(stats.pairs);
    s.currentTime = video.currentTime;
    s.paused = video.paused;
    s.readyState = video.readyState;
    s.buffered = video.buffered.length ? video.buffered.end(video.buffered.length - 1) - video.currentTime : 0;
    s.decodedFrames = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality().totalVideoFrames : 0;
    s.elapsedMs = Date.now() - stats.started;
    if (player && player.latency) {
      const l = player.latency();
      s.latency = l.latency;
      s.liveSyncDurationCount = l.liveSyncDurationCount;
    }
    return s;
  };
  window.swarmcastStop = () => {
    if (player) player.stop();
  };

  setInterval(() => {
    status.textContent =
      (stats.player || "loading") +
      "\nt=" + video.currentTime.toFixed(1) +
      " http=" + stats.httpBytes +
      " p2p=" + stats.p2pBytes +
      " up=" + stats.uploadedBytes +
      " peers=" + Object.keys(stats.peers).length +
      (stats.failed ? "\nFAILED: " + stats.failed : "");
  }, 500);

  // --- load the player ----------------------------------------------------------------------
  if (!config.stream || !config.tracker) {
    window.swarmcastHarness.fail("the query string needs stream and tracker");
    return;
  }
  const scripts = {
    "2": ["bundle/pml2.js"],
    "0.6": ["bundle/hls-0.14.min.js", "bundle/p2p-media-loader-core-0.6.min.js", "bundle/p2p-media-loader-hlsjs-0.6.min.js", "pml06.js"],
  }[config.gen];
  if (!scripts) {
    window.swarmcastHarness.fail("unknown gen " + config.gen);
    return;
  }
  for (const src of scripts) {
    const el = document.createElement("script");
    el.src = src;
    el.async = false; // run in order
    el.onerror = () => window.swarmcastHarness.fail("cannot load " + src);
    document.head.appendChild(el);
  }
})();
