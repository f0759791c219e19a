// One bittorrent-tracker@11 Client (the tracker client inside WebTorrent and P2P Media
// Loader) that joins a swarm through a WebSocket tracker, opens a WebRTC data channel to
// the first peer the tracker introduces, sends one message over it, waits for the other
// side's message and then scrapes the tracker.
//
// Usage: node peer.mjs '<json options>'
//   tracker   ws:// URL of the tracker
//   infoHash  40 hex digits
//   peerId    40 hex digits
//   left      bytes left to download (0 makes this peer a seeder: "complete" in scrapes)
//   message   text to send over the data channel
//   expect    text expected from the other side
//
// Every event is written to stdout as one JSON object per line. The process runs until
// its stdin closes (the Go test closes it, or kills the process group), so a peer never
// tears down the data channel before the other side has read its message.
//
// WebRTC stays on loopback: node-datachannel (libdatachannel) gets bindAddress 127.0.0.1
// and no ICE servers, so every candidate it gathers is 127.0.0.1; the script reports the
// candidates of both SDPs and the selected pair so the test can assert it.
import Client from 'bittorrent-tracker'

const opts = JSON.parse(process.argv[2] || '{}')
for (const k of ['tracker', 'infoHash', 'peerId', 'message', 'expect']) {
  if (typeof opts[k] !== 'string') {
    console.error(`peer.mjs: option ${k} (string) is required`)
    process.exit(2)
  }
}
const left = Number.isInteger(opts.left) ? opts.left : 1000

function out (event, fields = {}) {
  process.stdout.write(JSON.stringify({ event, ...fields }) + '\n')
}

// Collects the connection addresses of every "a=candidate" line of an SDP.
function candidates (sdp) {
  const addrs = []
  for (const line of (sdp || '').split(/\r?\n/)) {
    const m = /^a=candidate:\S+ \d+ \S+ \d+ (\S+) (\d+) typ (\S+)/.exec(line)
    if (m) addrs.push(`${m[1]}:${m[2]} ${m[3]}`)
  }
  return addrs
}

const client = new Client({
  infoHash: opts.infoHash,
  peerId: opts.peerId,
  announce: [opts.tracker],
  port: 6881,
  getAnnounceOpts: () => ({ uploaded: 0, downloaded: 0, left }),
  rtcConfig: { iceServers: [], bindAddress: '127.0.0.1' }
})

let connected = false
let received = false
let scraped = false

client.on('warning', err => out('warning', { message: String(err && err.message) }))
client.on('error', err => out('error', { message: String(err && err.message) }))
client.on('update', data => out('update', { complete: data.complete, incomplete: data.incomplete }))
client.on('scrape', data => {
  if (scraped) return
  scraped = true
  out('scrape', { complete: data.complete, incomplete: data.incomplete, downloaded: data.downloaded })
})

client.on('peer', peer => {
  out('peer', { remotePeerId: peer.id, initiator: !!peer.initiator })
  if (connected) {
    // Only the first data channel is used; later introductions (re-announces) are closed.
    peer.destroy()
    return
  }
  peer.on('error', err => out('peer_error', { message: String(err && err.message) }))
  peer.on('connect', () => {
    if (connected) return
    connected = true
    const pc = peer._pc
    let pair = null
    try {
      const p = pc.getSelectedCandidatePair()
      if (p) pair = { local: `${p.local.address}:${p.local.port}`, remote: `${p.remote.address}:${p.remote.port}` }
    } catch (err) {
      out('warning', { message: 'getSelectedCandidatePair: ' + err.message })
    }
    out('connected', {
      remotePeerId: peer.id,
      localCandidates: candidates(pc.localDescription && pc.localDescription.sdp),
      remoteCandidates: candidates(pc.remoteDescription && pc.remoteDescription.sdp),
      selectedPair: pair
    })
    peer.send(opts.message)
  })
  peer.on('data', data => {
    const text = Buffer.from(data).toString('utf8')
    out('received', { data: text })
    if (!received && text === opts.expect) {
      received = true
      client.scrape()
    }
  })
})

out('start', { peerId: opts.peerId, infoHash: opts.infoHash, left })
client.start()

function shutdown (code) {
  client.destroy(() => process.exit(code))
  setTimeout(() => process.exit(code), 2000).unref()
}
process.stdin.on('end', () => shutdown(0))
process.stdin.on('error', () => shutdown(0))
process.stdin.resume()
process.on('SIGTERM', () => shutdown(0))
