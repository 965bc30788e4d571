//go:build !race

package iggywm_test

// raceEnabled reports whether the race detector is on.
const raceEnabled = false
