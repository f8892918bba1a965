package wsman

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseDuration reads an xs:duration (PnYnMnDTnHnMnS; years and months
// count 365 and 30 days).
func parseDuration(s string) (time.Duration, error) {
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	}
	if !strings.HasPrefix(s, "P") || len(s) < 2 {
		return 0, fmt.Errorf("not an xs:duration: %q", s)
	}
	s = s[1:]
	var total float64
	inTime := false
	units := map[bool]map[byte]float64{
		false: {'Y': 365 * 86400, 'M': 30 * 86400, 'D': 86400},
		true:  {'H': 3600, 'M': 60, 'S': 1},
	}
	any := false
	for len(s) > 0 {
		if s[0] == 'T' {
			if inTime {
				return 0, fmt.Errorf("two T in duration")
			}
			inTime, s = true, s[1:]
			if len(s) == 0 {
				return 0, fmt.Errorf("nothing after T in duration")
			}
			continue
		}
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == 0 || i == len(s) {
			return 0, fmt.Errorf("malformed duration")
		}
		n, err := strconv.ParseFloat(s[:i], 64)
		if err != nil {
			return 0, fmt.Errorf("malformed duration number: %w", err)
		}
		u, ok := units[inTime][s[i]]
		if !ok {
			return 0, fmt.Errorf("unknown duration unit %q", s[i])
		}
		total += n * u
		any = true
		s = s[i+1:]
	}
	if !any {
		return 0, fmt.Errorf("empty duration")
	}
	if total > float64(1<<62)/1e9 {
		return 0, fmt.Errorf("duration too long")
	}
	d := time.Duration(total * float64(time.Second))
	if neg {
		d = -d
	}
	return d, nil
}

// formatDuration writes d as an xs:duration.
func formatDuration(d time.Duration) string {
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	b.WriteString("P")
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	if days > 0 {
		b.WriteString(strconv.FormatInt(int64(days), 10) + "D")
	}
	b.WriteString("T")
	h := d / time.Hour
	d -= h * time.Hour
	m := d / time.Minute
	d -= m * time.Minute
	if h > 0 {
		b.WriteString(strconv.FormatInt(int64(h), 10) + "H")
	}
	if m > 0 {
		b.WriteString(strconv.FormatInt(int64(m), 10) + "M")
	}
	b.WriteString(strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "S")
	return b.String()
}
