//go:build race

package emulate_test

// raceEnabled: the test binary runs under the race detector, so the
// recordctl binary built for the CLI tests is too (and reuses its cache).
const raceEnabled = true
