// Package hlsgen makes a live HLS test-card stream with ffmpeg and serves HLS folders over
// HTTP.
//
// A Generator (New, Run) supervises one ffmpeg process that renders a moving test pattern
// with the wall clock and a frame counter burned in, plus a beeping sine tone, and encodes
// it into one to three H.264/AAC renditions behind a master playlist. ffmpeg is restarted
// with backoff when it exits or stalls and is stopped cleanly (SIGINT, then SIGKILL) on
// shutdown. BuildArgs is the pure function that makes ffmpeg's argument list.
//
// The filesystem contract (what the origin serves and the seeder reads), below
// Config.OutputDir:
//
//	master.m3u8                 master playlist (MasterPlaylist)
//	segments-sha256.json        integrity manifest (ManifestFile, type Manifest)
//	<rendition>/index.m3u8      media playlist (MediaPlaylist); rendition names default v0, v1, v2
//	<rendition>/seg<N>.ts       segments, N = media sequence number, starting at Unix time
//	<rendition>/seg<N>.m4s      … or fMP4 segments, with <rendition>/init_<i>.mp4
//	                            (init.mp4 when there is only one rendition)
//	.master.m3u8, */.index.m3u8 ffmpeg's private playlists (never served)
//	*.tmp                       files being written (never served)
//
// Every file appears whole (temp file + rename). The public playlists are copies of
// ffmpeg's private ones that the generator writes only after the manifest lists every
// segment they reference, so a reader of a public playlist always finds its segments'
// hashes in the manifest.
//
// NewOrigin returns the http.Handler that serves such a folder (or any HLS folder) with the
// content types, caching, CORS and Range support players need, and nothing else.
package hlsgen
