//go:build race

package spec_test

// raceEnabled: the race detector multiplies memory use; memory limits are not checked.
const raceEnabled = true
