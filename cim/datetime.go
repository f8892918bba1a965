package cim

import (
	"fmt"
	"time"
)

// Datetime is a CIM datetime: either a timestamp
// "yyyymmddHHMMSS.mmmmmmsUUU" (UUU is the UTC offset in minutes, s its
// sign) or an interval "ddddddddHHMMSS.mmmmmm:000". A timestamp field may be
// replaced by asterisks as a whole (a wildcard). A Datetime holds its
// validated 25-character text, so it is a small comparable value; the zero
// Datetime is not valid and prints as "".
type Datetime struct {
	s string
}

// datetimeLen is the fixed length of a CIM datetime.
const datetimeLen = 25

// field describes one fixed-width numeric field of a datetime.
type dtField struct {
	name     string
	off, n   int
	min, max int
}

var timestampFields = []dtField{
	{"year", 0, 4, 0, 9999}, {"month", 4, 2, 1, 12}, {"day", 6, 2, 1, 31},
	{"hour", 8, 2, 0, 23}, {"minute", 10, 2, 0, 59}, {"second", 12, 2, 0, 60},
	{"microseconds", 15, 6, 0, 999999}, {"UTC offset", 22, 3, 0, 999},
}

var intervalFields = []dtField{
	{"days", 0, 8, 0, 99999999}, {"hours", 8, 2, 0, 23}, {"minutes", 10, 2, 0, 59},
	{"seconds", 12, 2, 0, 59}, {"microseconds", 15, 6, 0, 999999},
}

// ParseDatetime parses the CIM text form of a timestamp or an interval. A
// malformed value is a WBEM_E_TYPE_MISMATCH error naming the column.
func ParseDatetime(s string) (Datetime, error) {
	bad := func(col int, format string, args ...any) (Datetime, error) {
		return Datetime{}, Errorf(ETypeMismatch, "datetime %q: column %d: %s", s, col, fmt.Sprintf(format, args...))
	}
	if len(s) != datetimeLen {
		return bad(1, "a datetime has exactly 25 characters, not %d", len(s))
	}
	if s[14] != '.' {
		return bad(15, "expected '.'")
	}
	fields := timestampFields
	switch s[21] {
	case '+', '-':
	case ':':
		if s[22:] != "000" {
			return bad(23, "an interval ends in \":000\"")
		}
		fields = intervalFields
	default:
		return bad(22, "expected '+', '-' (timestamp) or ':' (interval)")
	}
	for _, f := range fields {
		text := s[f.off : f.off+f.n]
		if isStars(text) {
			if fields[0].name == "days" {
				return bad(f.off+1, "an interval cannot have wildcards")
			}
			continue
		}
		v := 0
		for i := 0; i < f.n; i++ {
			c := text[i]
			if c < '0' || c > '9' {
				return bad(f.off+i+1, "%s: expected a digit or a field of '*'", f.name)
			}
			v = v*10 + int(c-'0')
		}
		if v < f.min || v > f.max {
			return bad(f.off+1, "%s %d out of range %d..%d", f.name, v, f.min, f.max)
		}
	}
	return Datetime{s: s}, nil
}

func isStars(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '*' {
			return false
		}
	}
	return true
}

// MustParseDatetime is ParseDatetime for constants known to be valid; it
// panics otherwise.
func MustParseDatetime(s string) Datetime {
	d, err := ParseDatetime(s)
	if err != nil {
		panic(err)
	}
	return d
}

// String returns the canonical 25-character text.
func (d Datetime) String() string { return d.s }

// IsZero reports whether d is the zero (invalid) Datetime.
func (d Datetime) IsZero() bool { return d.s == "" }

// IsInterval reports whether d is an interval rather than a timestamp.
func (d Datetime) IsInterval() bool { return len(d.s) == datetimeLen && d.s[21] == ':' }

// HasWildcards reports whether some field of d is asterisks.
func (d Datetime) HasWildcards() bool {
	for i := 0; i < len(d.s); i++ {
		if d.s[i] == '*' {
			return true
		}
	}
	return false
}

func (d Datetime) num(off, n int) int {
	v := 0
	for i := off; i < off+n; i++ {
		v = v*10 + int(d.s[i]-'0')
	}
	return v
}

// Time returns the instant of a timestamp without wildcards, in its own UTC
// offset; ok is false for intervals and wildcard timestamps.
func (d Datetime) Time() (t time.Time, ok bool) {
	if d.IsZero() || d.IsInterval() || d.HasWildcards() {
		return time.Time{}, false
	}
	off := d.num(22, 3)
	if d.s[21] == '-' {
		off = -off
	}
	zone := time.FixedZone("", off*60)
	return time.Date(d.num(0, 4), time.Month(d.num(4, 2)), d.num(6, 2), d.num(8, 2), d.num(10, 2), d.num(12, 2), d.num(15, 6)*1000, zone), true
}

// Duration returns the length of an interval; ok is false for timestamps.
func (d Datetime) Duration() (time.Duration, bool) {
	if !d.IsInterval() {
		return 0, false
	}
	return time.Duration(d.num(0, 8))*24*time.Hour + time.Duration(d.num(8, 2))*time.Hour +
		time.Duration(d.num(10, 2))*time.Minute + time.Duration(d.num(12, 2))*time.Second +
		time.Duration(d.num(15, 6))*time.Microsecond, true
}

// DatetimeFromTime returns the timestamp of t in t's own UTC offset
// (rounded down to whole minutes of offset and to microseconds).
func DatetimeFromTime(t time.Time) Datetime {
	_, off := t.Zone()
	sign := byte('+')
	m := off / 60
	if m < 0 {
		sign, m = '-', -m
	}
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return Datetime{s: fmt.Sprintf("%04d%02d%02d%02d%02d%02d.%06d%c%03d",
			year, int(month), day, t.Hour(), t.Minute(), t.Second(), t.Nanosecond()/1000, sign, m%1000)}
	}
	hour, minute, second := t.Clock()
	var b [25]byte
	digits(b[0:4], year)
	digits(b[4:6], int(month))
	digits(b[6:8], day)
	digits(b[8:10], hour)
	digits(b[10:12], minute)
	digits(b[12:14], second)
	b[14] = '.'
	digits(b[15:21], t.Nanosecond()/1000)
	b[21] = sign
	digits(b[22:25], m%1000)
	return Datetime{s: string(b[:])}
}

// digits writes v (at least 0, below 10^len(b)) into b, padded with
// zeros on the left.
func digits(b []byte, v int) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
}

// IntervalFromDuration returns the interval of length d (negative durations
// are taken as their absolute value).
func IntervalFromDuration(d time.Duration) Datetime {
	if d < 0 {
		d = -d
	}
	us := int64(d / time.Microsecond)
	days := us / (24 * 3600 * 1e6)
	us -= days * 24 * 3600 * 1e6
	h := us / 3600e6
	us -= h * 3600e6
	m := us / 60e6
	us -= m * 60e6
	s := us / 1e6
	us -= s * 1e6
	return Datetime{s: fmt.Sprintf("%08d%02d%02d%02d.%06d:000", days%100000000, h, m, s, us)}
}

// CompareDatetime orders two datetimes: timestamps by instant (normalising
// UTC offsets), intervals by length. ok is false when they cannot be
// ordered: a timestamp against an interval, or a value with wildcards
// (wildcard values compare only for equality, character by character, with
// String).
func CompareDatetime(a, b Datetime) (int, bool) {
	if a.IsInterval() && b.IsInterval() {
		da, _ := a.Duration()
		db, _ := b.Duration()
		return cmpInt64(int64(da), int64(db)), true
	}
	ta, oka := a.Time()
	tb, okb := b.Time()
	if !oka || !okb {
		return 0, false
	}
	return ta.Compare(tb), true
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
