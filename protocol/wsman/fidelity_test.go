package wsman

import (
	"strings"
	"testing"
)

// TestLongInterval: a CIM interval holds up to 99,999,999 days; its
// xs:duration (DSP0230 1.0 §7.2.6, cim:Interval) is written from its
// fields and read back without passing through a 292-year time.Duration.
func TestLongInterval(t *testing.T) {
	url, _ := newServer(t, nil)
	sdc := [][2]string{{"Name", "sdc"}}
	do(t, url, msg{action: actCreate, uri: diskURI, body: `<p:Sample_Disk xmlns:p="` + diskURI + `"><p:Name>sdc</p:Name><p:Model>m</p:Model>` +
		`<p:Installed><cim:Interval xmlns:cim="` + nsCIM + `">P20010515DT1H2M3.25S</cim:Interval></p:Installed></p:Sample_Disk>`}, 200, actCreate+"Response")
	body := do(t, url, msg{action: actGet, uri: diskURI, selectors: sdc}, 200, actGet+"Response")
	if !strings.Contains(body, `P20010515DT1H2M3.25S</cim:Interval>`) {
		t.Errorf("interval of 20010515 days:\n%s", body)
	}
	// Years and months count 365 and 30 days; past 99,999,999 days the
	// value is refused.
	do(t, url, msg{action: actPut, uri: diskURI, selectors: sdc, body: `<p:Sample_Disk xmlns:p="` + diskURI + `"><p:Installed>P2Y1M3DT25H</p:Installed></p:Sample_Disk>`}, 200, actPut+"Response")
	body = do(t, url, msg{action: actGet, uri: diskURI, selectors: sdc}, 200, actGet+"Response")
	if !strings.Contains(body, `P764DT1H0S</cim:Interval>`) {
		t.Errorf("P2Y1M3DT25H:\n%s", body)
	}
	env, _ := msg{action: actPut, uri: diskURI, selectors: sdc, body: `<p:Sample_Disk xmlns:p="` + diskURI + `"><p:Installed>P100000000D</p:Installed></p:Sample_Disk>`}.build()
	if code, body := post(t, url, env); code == 200 {
		t.Errorf("P100000000D accepted:\n%s", body)
	}
}

// FuzzParseInterval: whatever xs:duration parseInterval takes, the
// interval it makes writes back as a duration that reads as the same
// interval.
func FuzzParseInterval(f *testing.F) {
	for _, s := range []string{"P20010515DT1H2M3.25S", "PT0S", "P1Y2M3DT4H5M6.000007S", "PT86400S", "P99999999D"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseInterval(s)
		if err != nil {
			return
		}
		back, err := parseInterval(formatInterval(d))
		if err != nil || back != d {
			t.Fatalf("%q: %s written %s read %s (%v)", s, d, formatInterval(d), back, err)
		}
	})
}
