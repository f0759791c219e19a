//go:build !race

package tracker

// raceDetector reports a -race build (see hub_race_test.go).
const raceDetector = false
