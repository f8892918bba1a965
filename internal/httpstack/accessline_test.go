package httpstack

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"
)

// textLine is what slog's TextHandler writes for the record.
func textLine(t *testing.T, at time.Time, level slog.Level, msg string, attrs []slog.Attr) string {
	var buf bytes.Buffer
	r := slog.NewRecord(at, level, msg, 0)
	r.AddAttrs(attrs...)
	if err := slog.NewTextHandler(&buf, nil).Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestAccessText: the access line written directly is byte for byte the
// one slog's TextHandler writes, for values that need quoting or not.
func TestAccessText(t *testing.T) {
	strs := []string{"", "plain", "root/cimv2", "with space", "a=b", `quote"d`, `back\slash`, "tab\there",
		"nl\n", "\x00", "\x7f", "é", "\u00a0", "\u2028", "\ufffd", "\xff", "ok\xc3", "日本", "emoji😀", "-", "127.0.0.1:5988"}
	times := []time.Time{
		time.Date(2026, 12, 6, 7, 1, 20, 0, time.UTC),
		time.Date(2026, 12, 6, 7, 1, 20, 123456789, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 999999999, time.FixedZone("x", -5*3600)),
		time.Now(),
	}
	for i, s := range strs {
		at := times[i%len(times)]
		attrs := []slog.Attr{slog.String("id", s), slog.String(s, "v"), slog.Int("code", 200+i), slog.Int64("bytes", -int64(i)),
			slog.Bool("aborted", i%2 == 0), slog.Duration("duration", time.Duration(i)*1234567*time.Nanosecond)}
		for _, level := range []slog.Level{slog.LevelInfo, slog.LevelWarn} {
			want := textLine(t, at, level, "request", attrs)
			if got := string(appendAccessText(nil, at, level, "request", attrs)); got != want {
				t.Errorf("%q:\n got %s\nwant %s", s, got, want)
			}
		}
	}
}

// FuzzAccessText: whatever the strings, numbers and times, the line is
// the TextHandler's.
func FuzzAccessText(f *testing.F) {
	f.Add("admin", "root/cimv2", int64(200), int64(345000), int64(1764998480123456789))
	f.Add("a b", "\xff=\"", int64(-1), int64(0), int64(0))
	f.Fuzz(func(t *testing.T, s1, s2 string, n, d, ns int64) {
		at := time.Unix(0, ns).UTC()
		if y := at.Year(); y < 1 || y > 9999 {
			return
		}
		attrs := []slog.Attr{slog.String("user", s1), slog.String(s2, s1), slog.Int64("bytes", n), slog.Duration("duration", time.Duration(d)), slog.Bool("aborted", n < 0)}
		want := textLine(t, at, slog.LevelInfo, s2, attrs)
		if got := string(appendAccessText(nil, at, slog.LevelInfo, s2, attrs)); got != want {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}
