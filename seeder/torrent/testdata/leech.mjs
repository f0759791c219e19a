// WebTorrent leecher for the seeder's interop tests. It reads torrents.json, checks the
// entry of one segment, downloads the segment and prints "DONE sha256=<hex> ..." (exit 0
// when the SHA-256 matches the expected one, 1 when not, 3 on timeout).
//
//   node leech.mjs <torrents.json URL> <rendition> <uri> <expected sha256> magnet|torrent
//   node leech.mjs <torrents.json URL> <rendition> <uri> <expected sha256> announce-first <magnet>
//
// magnet:  adds the magnet from torrents.json with web seeds disabled, so every byte must
//          come from a WebRTC peer (the seeder) through the tracker.
// torrent: downloads the .torrent file, prints "HAVE-TORRENT", waits for a line on stdin
//          (the test removes the seeder meanwhile), then downloads with web seeds enabled.
// announce-first: joins the swarm of the given magnet before the segment exists (no
//          torrents.json check), prints "ANNOUNCED" after its first tracker reply, and
//          downloads (web seeds disabled) once the seeder arrives.
import WebTorrent from 'webtorrent'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import readline from 'node:readline'

const [indexURL, rendition, uri, expected, mode, magnetArg] = process.argv.slice(2)
const timeout = setTimeout(() => { console.log('TIMEOUT'); process.exit(3) }, 120000)
const fail = msg => { console.log('FAIL ' + msg); process.exit(1) }

let entry = {}
if (mode !== 'announce-first') {
  const index = await (await fetch(indexURL)).json()
  entry = index.renditions?.[rendition]?.[uri]
  if (!entry) fail('no entry for ' + rendition + ' ' + uri + ' in ' + JSON.stringify(index))
  if (entry.sha256 !== expected) fail('torrents.json sha256 ' + entry.sha256 + ' != ' + expected)
}

let torrentId = mode === 'announce-first' ? magnetArg : entry.magnet
const webSeeds = mode === 'torrent'
if (mode === 'torrent') {
  const res = await fetch(new URL(entry.torrent, indexURL))
  if (!res.ok) fail('.torrent fetch: HTTP ' + res.status)
  torrentId = Buffer.from(await res.arrayBuffer())
  console.log('HAVE-TORRENT')
  const rl = readline.createInterface({ input: process.stdin })
  await new Promise(resolve => rl.once('line', resolve))
  rl.close()
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarmcast-leech-'))
const client = new WebTorrent({
  dht: false, lsd: false, utp: false, natUpnp: false, natPmp: false, webSeeds,
  tracker: { rtcConfig: { iceServers: [] } }
})
client.on('error', err => fail('client error: ' + err.message))
let peerWires = 0
let webSeedWires = 0
const torrent = client.add(torrentId, { path: dir })
torrent.once('trackerAnnounce', () => console.log('ANNOUNCED'))
torrent.on('wire', wire => { if (wire.type === 'webSeed') webSeedWires++; else peerWires++ })
torrent.on('done', async () => {
  const got = Buffer.from(await torrent.files[0].arrayBuffer())
  const sum = crypto.createHash('sha256').update(got).digest('hex')
  console.log(`DONE sha256=${sum} infohash=${torrent.infoHash} peerWires=${peerWires} webSeedWires=${webSeedWires}`)
  clearTimeout(timeout)
  client.destroy(() => {
    fs.rmSync(dir, { recursive: true, force: true })
    process.exit(sum === expected ? 0 : 1)
  })
})
