//go:build !race

package emulate_test

// raceEnabled: see e2e_race_on_test.go.
const raceEnabled = false
