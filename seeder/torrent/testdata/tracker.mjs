// Reference WebTorrent tracker for the seeder's interop tests (until swarmcast's own tracker
// runs in-process): bittorrent-tracker's Server, WebSocket only, on the given address.
// Prints "PORT <n>" once listening; exits when stdin closes.
import { Server } from 'bittorrent-tracker'

const host = process.argv[2] || '127.0.0.1'
// A short interval makes the leechers re-announce (with fresh offers) if a first connection fails.
const server = new Server({ udp: false, http: false, ws: true, stats: false, interval: 10000 })
server.on('warning', err => console.error('tracker warning:', err.message))
server.on('error', err => { console.error('tracker error:', err.message); process.exit(1) })
server.listen(0, host, () => console.log('PORT ' + server.http.address().port))
process.stdin.on('end', () => server.close(() => process.exit(0)))
process.stdin.resume()
