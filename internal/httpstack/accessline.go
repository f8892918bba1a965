package httpstack

import (
	"log/slog"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
)

// The access log in the text format, without slog's general path. Every
// request writes one line; through slog.TextHandler that line cost about
// 4 µs of CPU, 6% of a GetInstance's (BENCHMARKS.md, issue 12), mostly in
// the handler's handling of any kind of value and attribute group. The
// access line has a fixed shape (strings, integers, a bool, a duration,
// no groups), so it is written here directly, byte for byte as the
// TextHandler writes it (TestAccessText and FuzzAccessText compare the
// two).

// appendAccessText appends the line slog.NewTextHandler(w, nil) writes for
// a record made at t with level, msg and attrs. attrs hold only the kinds
// String, Int64, Bool and Duration.
func appendAccessText(b []byte, t time.Time, level slog.Level, msg string, attrs []slog.Attr) []byte {
	b = append(b, "time="...)
	b = appendMillis(b, t.Round(0))
	b = append(b, " level="...)
	b = appendTextString(b, level.String())
	b = append(b, " msg="...)
	b = appendTextString(b, msg)
	for _, a := range attrs {
		b = append(b, ' ')
		b = appendTextString(b, a.Key)
		b = append(b, '=')
		switch v := a.Value; v.Kind() {
		case slog.KindString:
			b = appendTextString(b, v.String())
		case slog.KindInt64:
			b = strconv.AppendInt(b, v.Int64(), 10)
		case slog.KindBool:
			b = strconv.AppendBool(b, v.Bool())
		case slog.KindDuration:
			b = append(b, v.Duration().String()...)
		default:
			b = appendTextString(b, v.String())
		}
	}
	return append(b, '\n')
}

// appendMillis appends t as RFC 3339 with exactly three digits of
// milliseconds, as the TextHandler writes times.
func appendMillis(b []byte, t time.Time) []byte {
	const prefix = len("2006-01-02T15:04:05.000")
	n := len(b)
	// RFC3339Nano drops trailing zeros: a tenth of a millisecond more
	// keeps four digits, of which the fourth is cut.
	b = t.Truncate(time.Millisecond).Add(time.Millisecond/10).AppendFormat(b, time.RFC3339Nano)
	return append(b[:n+prefix], b[n+prefix+1:]...)
}

// appendTextString appends s as the TextHandler does: as it is, or quoted
// (strconv.Quote) if it is empty or holds a space, an '=', a '"', a
// control character, or a rune that is invalid, a space or not printable.
func appendTextString(b []byte, s string) []byte {
	if needsQuote(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c <= ' ' || c == '=' || c == '"' {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}
