// Leecher loop for the seeder's soak benchmark: every second it reads torrents.json, adds
// the newest segment of one rendition it has not fetched yet (magnet, web seeds disabled, so
// the bytes come from the seeder over WebRTC), checks its SHA-256 and drops it again.
// Prints "GOT <ok> <failed>" after each segment; runs until killed or stdin closes.
//
//   node soak-leech.mjs <torrents.json URL> <rendition>
import WebTorrent from 'webtorrent'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const [indexURL, rendition] = process.argv.slice(2)
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarmcast-soak-'))
const client = new WebTorrent({
  dht: false, lsd: false, utp: false, natUpnp: false, natPmp: false, webSeeds: false,
  tracker: { rtcConfig: { iceServers: [] } }
})
client.on('error', err => console.error('client error:', err.message))
process.stdin.on('end', () => client.destroy(() => { fs.rmSync(dir, { recursive: true, force: true }); process.exit(0) }))
process.stdin.resume()

const seen = new Set()
let ok = 0
let failed = 0
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

async function fetchOne (entry) {
  return new Promise(resolve => {
    const torrent = client.add(entry.magnet, { path: dir })
    const timer = setTimeout(() => { failed++; torrent.destroy({ destroyStore: true }, resolve) }, 20000)
    torrent.on('done', async () => {
      clearTimeout(timer)
      const got = Buffer.from(await torrent.files[0].arrayBuffer())
      const sum = crypto.createHash('sha256').update(got).digest('hex')
      if (sum === entry.sha256) ok++; else failed++
      torrent.destroy({ destroyStore: true }, resolve)
    })
  })
}

for (;;) {
  try {
    const index = await (await fetch(indexURL)).json()
    const entries = index.renditions?.[rendition] ?? {}
    const newest = Object.keys(entries).sort().filter(u => !seen.has(u)).pop()
    if (newest) {
      seen.add(newest)
      await fetchOne(entries[newest])
      console.log(`GOT ${ok} ${failed}`)
    }
  } catch (err) {
    console.error('soak leecher:', err.message)
  }
  await sleep(1000)
}
