// Package pml is the pure protocol layer between the seeder and unmodified P2P Media Loader
// (Novage) clients: swarm ids and tracker info_hashes for each client generation, and the
// data-channel command codecs of both wire formats. It does no I/O.
//
// Generations (they never see each other's swarms, so the seeder joins each one separately):
//
//   - Gen06: p2p-media-loader 0.6.x. Swarm string "2"+streamSwarmId, info_hash = SHA-1 sent as
//     a 20-rune latin1 string. Data channel: compact JSON commands ({"c":N,...}) plus raw
//     binary segment chunks (Legacy* in legacy.go).
//   - Gen22: p2p-media-loader 1.0.4–2.2.x. Swarm string "v2-"+swarmId+"-"+type+"-"+index with a
//     numeric index, info_hash = base64(md5(s)[1:16]).
//   - Gen23: p2p-media-loader 2.3.x. Same swarm string with index = base64(SHA-1(stream
//     metadata)), info_hash = base64(sha1(s)[:15]).
//
// Gen22 and Gen23 share the binary framed command format (Command, Encode, Frame, Joiner in
// binary.go): "cstr"/"dstr" ... "cend"/"dend" framed commands with sign-magnitude integers and
// "similar int arrays", split over several messages when longer than the maximum message size.
//
// The formats were taken from the published npm packages (see docs/seeder.md and
// ../shared/docs/pml-protocol.md for the derivation and the test vectors).
package pml
