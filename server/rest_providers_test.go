package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestProvidersJSON: the example providers through the JSON door of a
// running wbemd: the providers' page lists them, a provider's class pages
// from its start, its methods run, a PATCH reaches the provider, and the
// options that need stored instances (a version, a position) are refused
// precisely.
func TestProvidersJSON(t *testing.T) {
	d := startDaemon(t)
	registerExamples(t, d)
	base := "http://" + d.http + "/api/v1/"
	do := func(method, path, body string, hdr ...string) (int, map[string]any, http.Header) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, base+path, rd)
		req.SetBasicAuth("admin", "secret")
		req.Header.Set("X-WBEM-Client", "test")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		rsp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer rsp.Body.Close()
		var m map[string]any
		b, _ := io.ReadAll(rsp.Body)
		if len(b) > 0 {
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("%s %s: %d %q", method, path, rsp.StatusCode, b)
			}
		}
		return rsp.StatusCode, m, rsp.Header
	}
	ns := "namespaces/root%2Fcimv2/"
	gear := ns + "instances/" + url.PathEscape(`Example_Widget.Name="gear"`)
	code, m, _ := do("GET", ns+"classes/Example_Widget/instances?limit=10", "")
	if code != 200 || !strings.Contains(toJSON(m), `"Name":"gear"`) {
		t.Errorf("a provider's instances: %d %v", code, m)
	}
	code, m, _ = do("GET", "providers", "")
	if items, _ := m["items"].([]any); code != 200 || len(items) == 0 || !strings.Contains(toJSON(m), `"Name":"WidgetProvider"`) {
		t.Errorf("providers: %d %v", code, m)
	}
	code, m, h := do("GET", gear, "")
	if code != 200 || m["Size"] != 3.0 || h.Get("ETag") != "" {
		t.Errorf("a provider's instance (no version): %d %v %v", code, m, h)
	}
	if code, m, _ = do("PATCH", gear, `{"Color":"gold"}`); code != 200 || m["Color"] != "gold" || m["Size"] != 3.0 {
		t.Errorf("PATCH through the provider: %d %v", code, m)
	}
	if code, m, _ = do("PATCH", gear, `{"Color":"tin"}`, "If-Match", `"5"`); code != 501 || m["name"] != "WBEM_E_PROVIDER_NOT_CAPABLE" {
		t.Errorf("If-Match on a provider's instance: %d %v", code, m)
	}
	if code, m, _ = do("GET", ns+"classes/Example_Widget/instances?after="+url.QueryEscape(`Example_Widget.Name="gear"`), ""); code != 501 || m["name"] != "WBEM_E_NOT_SUPPORTED" {
		t.Errorf("a position in a provider's class: %d %v", code, m)
	}
	if code, m, _ = do("POST", gear+"/methods/Resize", `{"Size":8}`); code != 200 || m["OldSize"] != 3.0 {
		t.Errorf("Resize: %d %v", code, m)
	}
	if code, m, _ = do("POST", ns+"classes/Example_Widget/methods/Count", ""); code != 200 || m["Count"] == nil {
		t.Errorf("Count: %d %v", code, m)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
