//go:build race

package provhost_test

// raceEnabled: the test binary, which is also the test provider, is built
// with the race detector, whose runtime needs more memory than RLIMIT_DATA
// tests allow.
const raceEnabled = true
