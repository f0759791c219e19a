// Package torrent seeds live HLS segments to WebTorrent clients over WebRTC.
//
// Every segment of every rendition becomes one single-file BitTorrent v1 torrent: an explicit
// piece length suited to the segment's size, the configured ws:// or wss:// trackers as
// announce URLs, and the segment's origin URL as a BEP 19 web seed (url-list). The torrents
// live in one anacrolix/torrent client that is configured for WebTorrent only: no DHT, no TCP
// or uTP listener, no PEX, no port forwarding, no web-seed downloading. The client seeds
// straight from the segment bytes the caller hands over (an in-memory storage that reports
// every piece complete), so nothing is hashed twice and nothing is written into the stream's
// folder.
//
// The segment source calls [Seeder.Add] when a segment appears and [Seeder.Remove] before it
// leaves the live window; at most Config.MaxTorrents torrents are live, the oldest being
// dropped first when a new one would exceed the bound. Every Config.ClientRotation seconds
// new segments move to a fresh anacrolix client, and the previous one is closed once its last
// segment is dropped: anacrolix v1.61 keeps every WebRTC connection it ever made until its
// tracker client closes (generation.go).
//
// [Seeder.Handler] publishes torrents.json (per rendition: segment URI → info hash, magnet,
// .torrent URL, SHA-256) and one .torrent file per live segment, with the HLS origin's CORS
// and caching rules. anacrolix's own logging is routed into the injected slog logger, and
// the seeder's gauges and counters are registered on the injected prometheus.Registerer.
//
// See docs/seeder-torrent.md for the configuration keys and the interplay with the tracker.
package torrent
