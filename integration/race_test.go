//go:build race

package integration

// raceEnabled reports whether the test binary has the race detector.
const raceEnabled = true
