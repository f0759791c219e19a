// Starts the reference bittorrent-tracker server (npm, v11) for benchmarks: WebSocket only,
// on 127.0.0.1:<port> (argv[2], default 8001). Used by scripts/bench-trackers.sh.
import { Server } from 'bittorrent-tracker'

const port = Number(process.argv[2] || 8001)
const server = new Server({ udp: false, http: false, ws: true, stats: false })
server.on('error', err => { console.error('error:', err.message) })
server.on('warning', () => {}) // per-message warnings would cost CPU and skew the figures
server.listen(port, '127.0.0.1', () => { console.log(`listening 127.0.0.1:${port}`) })
