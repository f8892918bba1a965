package wsman

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wbemd/wbemd/cim"
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

// maxIntervalDays is the largest number of days a CIM interval holds
// (ddddddddHHMMSS.mmmmmm:000).
const maxIntervalDays = 99999999

// formatInterval writes a CIM interval as an xs:duration, from its own
// fields (DSP0230 §7.2.6 cim:Interval): an interval of up to 99,999,999
// days does not fit a time.Duration (292 years), so it does not pass
// through one.
func formatInterval(d cim.Datetime) string {
	s := d.String()
	num := func(off, n int) int64 {
		v, _ := strconv.ParseInt(s[off:off+n], 10, 64)
		return v
	}
	days, h, m, sec, us := num(0, 8), num(8, 2), num(10, 2), num(12, 2), num(15, 6)
	var b strings.Builder
	b.WriteString("P")
	if days > 0 {
		b.WriteString(strconv.FormatInt(days, 10) + "D")
	}
	b.WriteString("T")
	if h > 0 {
		b.WriteString(strconv.FormatInt(h, 10) + "H")
	}
	if m > 0 {
		b.WriteString(strconv.FormatInt(m, 10) + "M")
	}
	b.WriteString(strconv.FormatInt(sec, 10))
	if us > 0 {
		b.WriteString(strings.TrimRight(fmt.Sprintf(".%06d", us), "0"))
	}
	b.WriteString("S")
	return b.String()
}

// parseInterval reads a non-negative xs:duration as a CIM interval,
// counting a year as 365 days and a month as 30 (as parseDuration does),
// with integer arithmetic: it holds up to 99,999,999 days.
func parseInterval(s string) (cim.Datetime, error) {
	if !strings.HasPrefix(s, "P") || len(s) < 2 {
		return cim.Datetime{}, fmt.Errorf("not a non-negative xs:duration: %q", s)
	}
	s = s[1:]
	var days, us int64 // us: the time part, in microseconds
	inTime, any := false, false
	for len(s) > 0 {
		if s[0] == 'T' {
			if inTime || len(s) == 1 {
				return cim.Datetime{}, fmt.Errorf("malformed duration")
			}
			inTime, s = true, s[1:]
			continue
		}
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		frac := ""
		if i < len(s) && s[i] == '.' {
			j := i + 1
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			frac, s = s[i+1:j], s[:i]+s[j:]
		}
		if i == 0 || i == len(s) || i > 12 {
			return cim.Datetime{}, fmt.Errorf("malformed duration")
		}
		n, _ := strconv.ParseInt(s[:i], 10, 64)
		unit := s[i]
		if frac != "" && !(inTime && unit == 'S') {
			return cim.Datetime{}, fmt.Errorf("only seconds take a fraction in an interval")
		}
		switch {
		case !inTime && unit == 'Y':
			days += 365 * n
		case !inTime && unit == 'M':
			days += 30 * n
		case !inTime && unit == 'D':
			days += n
		case inTime && unit == 'H':
			days, us = days+n/24, us+(n%24)*3600e6
		case inTime && unit == 'M':
			days, us = days+n/1440, us+(n%1440)*60e6
		case inTime && unit == 'S':
			days, us = days+n/86400, us+(n%86400)*1e6
			if frac != "" {
				f, _ := strconv.ParseInt((frac + "000000")[:6], 10, 64)
				us += f
			}
		default:
			return cim.Datetime{}, fmt.Errorf("unknown duration unit %q", unit)
		}
		any = true
		s = s[i+1:]
	}
	if !any {
		return cim.Datetime{}, fmt.Errorf("empty duration")
	}
	days, us = days+us/86400e6, us%86400e6
	if days > maxIntervalDays {
		return cim.Datetime{}, fmt.Errorf("an interval holds at most %d days", maxIntervalDays)
	}
	return cim.ParseDatetime(fmt.Sprintf("%08d%02d%02d%02d.%06d:000", days, us/3600e6, us/60e6%60, us/1e6%60, us%1e6))
}
