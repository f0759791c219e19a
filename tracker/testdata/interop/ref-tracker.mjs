// The reference WebSocket tracker (bittorrent-tracker@11's own Server), for checking the
// interop scripts against a tracker that is known to work. It listens on 127.0.0.1 on a
// free port, prints {"event":"listening","port":N} and runs until stdin closes.
//
// Usage: node ref-tracker.mjs
import { Server } from 'bittorrent-tracker'

// interval 100 s: the server tells clients to re-announce every 100/5 = 20 s, as our test
// tracker does (announceInterval 20), so a failed WebRTC attempt is retried just as soon.
const server = new Server({ udp: false, http: false, ws: true, stats: false, interval: 100000 })
server.on('warning', err => process.stdout.write(JSON.stringify({ event: 'warning', message: String(err && err.message) }) + '\n'))
server.on('error', err => process.stdout.write(JSON.stringify({ event: 'error', message: String(err && err.message) }) + '\n'))
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ event: 'listening', port: server.ws.address().port }) + '\n')
})
function shutdown () {
  server.close(() => process.exit(0))
  setTimeout(() => process.exit(0), 2000).unref()
}
process.stdin.on('end', shutdown)
process.stdin.resume()
process.on('SIGTERM', shutdown)
