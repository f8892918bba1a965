//go:build !race

package provhost_test

const raceEnabled = false
