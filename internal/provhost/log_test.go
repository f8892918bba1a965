package provhost_test

import (
	"log/slog"
	"os"
	"testing"
)

type slogLogger = slog.Logger

// newTestLogger logs to the test's output when -v, else only warnings.
func newTestLogger(t testing.TB) *slog.Logger {
	level := slog.LevelWarn
	if testing.Verbose() {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}
