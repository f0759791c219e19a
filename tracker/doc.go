// Package tracker is swarmcast's WebTorrent tracker: a drop-in replacement for
// Novage/wt-tracker (same config.json, same wire bytes, same /stats.json) that never
// crashes on bad input and adds Prometheus metrics.
//
// The Hub implements the protocol; the server (listeners, WebSocket connections, HTTP
// routes) feeds it text frames through Handle and receives outgoing frames through each
// connection's Sender. The JSON codec is in the wire subpackage. The wire behaviour and
// every deliberate difference from wt-tracker are listed in docs/tracker-protocol.md.
//
// # Protocol flow
//
//  1. A client opens a WebSocket; the server calls Hub.NewSession with the connection's
//     Sender. One connection may carry many peer_ids (a browser tab shares one socket
//     per tracker URL among all its torrents; libtorrent uses one peer_id per torrent).
//  2. Each text frame goes to Hub.Handle. It is decoded (outside the hub lock) into a
//     wire.Message; a frame that is not a JSON object closes the connection
//     (ReasonInvalidJSON).
//  3. {"action":"announce"} with event "started", "completed", none, null or any other
//     string ("update", "paused", "empty", "<regular>", "") and no answer is an announce.
//     peer_id and info_hash must be binary strings of at most MaxIDLength bytes. If the
//     peer_id is on another
//     connection it is removed from every swarm there and recreated here (takeover, as in
//     wt-tracker). The peer joins the swarm or refreshes its time; event "completed" or
//     left === 0 marks it complete, for good.
//  4. The announcer gets the reply first:
//     {"action":"announce","interval":I,"info_hash":H,"complete":C,"incomplete":N}.
//  5. If the swarm has other members, "offers" is an array and numwant is an integer,
//     min(others, len(offers), maxOffers, numwant) offers are relayed, one per receiver:
//     to every other member in swarm order when there is an offer for each, else to a
//     contiguous window of members starting at a random position. Each receiver gets
//     {"action":"announce","info_hash":H,"offer_id":…,"peer_id":P,"offer":{"type":"offer","sdp":…}}.
//     Offer items are checked before anything is sent.
//  6. An announce with an "answer" (not null) and no event is an answer: the whole object
//     minus to_peer_id is forwarded to the connection holding to_peer_id. No reply. An
//     unknown to_peer_id drops the answer.
//  7. Event "stopped" removes the peer from that swarm (and from the hub when it has no
//     swarm left). No reply.
//  8. {"action":"scrape"} replies with complete/incomplete/downloaded for one info_hash, a
//     list, or every swarm when info_hash is absent.
//  9. Hub.Run removes memberships that have not announced for 2×announceInterval, every
//     announceInterval. Empty swarms disappear at once.
//  10. When the connection ends the server calls Hub.Disconnect, which removes all its peers.
//
// Any other action or event, or a malformed field wt-tracker would throw on, returns a
// *ClientError with ReasonProtocol: the server closes that connection only.
//
// # Concurrency
//
// The hub has one mutex (wt-tracker is single-threaded). Decoding and encoding of offers
// and answers happen outside it. Under it, a hub call only updates the membership and
// decides which frames go where (an outbox on its stack); the frames are handed over right
// after the unlock, through Sender.Send, or through the sending connection's Relay when
// its transport batches writes. Frames from one hub call reach each connection in the
// order decided; frames from concurrent calls (different senders) may interleave either
// way, as they could on the network anyway. A connection's own replies stay in order
// because its frames are handled one at a time.
//
// # Transports
//
// Connections are carried by event loops (eventloop_linux.go, fastconn_linux.go: plain ws
// on Linux, no goroutine per connection, the frame codec in the wsframe subpackage) or by
// goroutines over gorilla/websocket (conn.go: wss, other platforms, or
// websockets.transport "goroutines"). The listener (listener.go) owns the upgrade, the
// registry of open connections and the idle sweep for both.
package tracker
