//go:build race

package tracker

// raceDetector reports a -race build: sync.Pool then drops items at random, so pooled
// paths allocate now and then.
const raceDetector = true
