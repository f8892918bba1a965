package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// cimCall posts one intrinsic CIM-XML call to the daemon as user:password
// and returns the answer and its body.
func cimCall(t *testing.T, d *daemon, user, password, method, params string) (*http.Response, string) {
	t.Helper()
	body := `<?xml version="1.0" encoding="utf-8"?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="` + method +
		`"><LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="sample"/></LOCALNAMESPACEPATH>` + params + `</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>`
	req, _ := http.NewRequest("POST", "http://"+d.http+"/cimom", strings.NewReader(body))
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	req.Header.Set("Content-Type", "application/xml")
	req.Header.Set("CIMOperation", "MethodCall")
	req.Header.Set("CIMMethod", method)
	req.Header.Set("CIMObject", "root%2Fsample")
	rsp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer rsp.Body.Close()
	b, _ := io.ReadAll(rsp.Body)
	return rsp, string(b)
}

const getSda = `<IPARAMVALUE NAME="InstanceName"><INSTANCENAME CLASSNAME="Sample_Disk"><KEYBINDING NAME="Name"><KEYVALUE VALUETYPE="string">sda</KEYVALUE></KEYBINDING></INSTANCENAME></IPARAMVALUE>`

// accessLines waits until the daemon has logged the access log lines of
// the request ids (JSON log format), and returns them by id.
func accessLines(t *testing.T, d *daemon, ids ...string) map[string]map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		found := map[string]map[string]any{}
		sc := bufio.NewScanner(strings.NewReader(d.log.String()))
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("log line %q is not JSON: %v", sc.Text(), err)
			}
			if id, _ := m["id"].(string); m["msg"] == "request" {
				if _, dup := found[id]; dup {
					t.Errorf("request %s logged twice", id)
				}
				found[id] = m
			}
		}
		all := true
		for _, id := range ids {
			all = all && found[id] != nil
		}
		if all {
			return found
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log lacks some of the requests %v:\n%s", ids, d.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAccessLog: with --log-format json, wbemd logs every request once,
// successful or not, with its id (the X-Request-Id of its answer), door,
// operation, user, namespace, status and duration.
func TestAccessLog(t *testing.T) {
	d := startDaemon(t, "--log-format", "json")
	ok, body := cimCall(t, d, "admin", "secret", "GetInstance", getSda)
	if ok.StatusCode != 200 || !strings.Contains(body, `<VALUE>sda</VALUE>`) {
		t.Fatalf("GetInstance: %d %s", ok.StatusCode, body)
	}
	missing, _ := cimCall(t, d, "admin", "secret", "GetInstance", strings.Replace(getSda, ">sda<", ">nope<", 1))
	denied, _ := cimCall(t, d, "guest", "guest-pw", "GetInstance", getSda)
	refused, _ := cimCall(t, d, "admin", "wrong", "GetInstance", getSda)
	if refused.StatusCode != 401 {
		t.Errorf("wrong password: HTTP %d", refused.StatusCode)
	}
	health, err := adminGet("http://" + d.wsman + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	health.Body.Close()
	id := func(rsp *http.Response) string {
		v := rsp.Header.Get("X-Request-Id")
		if v == "" {
			t.Fatalf("no X-Request-Id in the answer %v", rsp.Header)
		}
		return v
	}
	lines := accessLines(t, d, id(ok), id(missing), id(denied), id(refused), id(health))
	check := func(name string, l map[string]any, want map[string]any) {
		t.Helper()
		for k, v := range want {
			if l[k] != v {
				t.Errorf("%s: %s = %v, want %v in %v", name, k, l[k], v, l)
			}
		}
		if dur, _ := l["duration"].(float64); dur <= 0 {
			t.Errorf("%s: duration %v", name, l["duration"])
		}
	}
	check("success", lines[id(ok)], map[string]any{"level": "INFO", "door": "cimxml", "op": "GetInstance", "user": "admin", "namespace": "root/sample",
		"code": 200.0, "path": "/cimom"})
	if _, has := lines[id(ok)]["status"]; has {
		t.Errorf("success logged with a status: %v", lines[id(ok)])
	}
	check("failure", lines[id(missing)], map[string]any{"door": "cimxml", "op": "GetInstance", "user": "admin", "namespace": "root/sample",
		"code": 200.0, "status": "WBEM_E_NOT_FOUND"})
	check("denied", lines[id(denied)], map[string]any{"door": "cimxml", "op": "GetInstance", "user": "guest", "status": "WBEM_E_ACCESS_DENIED"})
	check("refused", lines[id(refused)], map[string]any{"door": "cimxml", "op": "", "user": "", "code": 401.0})
	check("health", lines[id(health)], map[string]any{"door": "status", "path": "/healthz", "code": 200.0})
	// The failed login is logged apart by the user store, with the client,
	// the user and the reason.
	if !regexp.MustCompile(`"msg":"login failed","client":"127.0.0.1","user":"admin","reason":"wrong password"`).MatchString(d.log.String()) {
		t.Errorf("no login failure logged for %s:\n%s", id(refused), d.log)
	}
}

// metricSeries returns the series /metrics shows (names with labels,
// sorted), and the whole text.
func metricSeries(t *testing.T, d *daemon) ([]string, string) {
	t.Helper()
	rsp, err := adminGet("http://" + d.http + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer rsp.Body.Close()
	b, _ := io.ReadAll(rsp.Body)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			name, _, _ := strings.Cut(l, " ")
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, string(b)
}

// TestMetricsBounded: method names that clients make up count under one
// label, over both doors: 1,000 requests with random names leave the
// number of /metrics series unchanged.
func TestMetricsBounded(t *testing.T) {
	d := startDaemon(t)
	wsman := func(action string) {
		env := `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header><a:Action>` + action +
			`</a:Action><a:To>/wsman</a:To><w:ResourceURI>http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/Sample_Disk</w:ResourceURI><a:MessageID>uuid:1</a:MessageID></s:Header><s:Body/></s:Envelope>`
		req, _ := http.NewRequest("POST", "http://"+d.wsman+"/wsman", strings.NewReader(env))
		req.SetBasicAuth("admin", "secret")
		req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
		rsp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, rsp.Body)
		rsp.Body.Close()
	}
	random := func() string { return fmt.Sprintf("M%016x", rand.Uint64()) }
	// One of each kind first: a known operation and a made-up one on each
	// door, so that every label the flood can reach exists.
	cimCall(t, d, "admin", "secret", "GetInstance", getSda)
	cimCall(t, d, "admin", "secret", random(), "")
	wsman("http://schemas.xmlsoap.org/ws/2004/09/transfer/Get")
	wsman("http://example.com/" + random())
	metricSeries(t, d) // the first scrape
	before, text := metricSeries(t, d)
	for _, want := range []string{`wbemd_requests_total{operation="other"}`, `wbemd_requests_total{operation="WSMan.other"}`, `wbemd_requests_total{operation="GetInstance"}`} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, text)
		}
	}
	for i := 0; i < 500; i++ {
		if rsp, _ := cimCall(t, d, "admin", "secret", random(), ""); rsp.StatusCode != 200 {
			t.Fatalf("a made-up method: HTTP %d", rsp.StatusCode)
		}
		wsman("http://example.com/" + random())
	}
	after, text := metricSeries(t, d)
	if strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("%d series before 1,000 made-up method names, %d after:\n%s", len(before), len(after), text)
	}
	if !strings.Contains(text, `wbemd_requests_total{operation="other"} 501`) || !strings.Contains(text, `wbemd_requests_total{operation="WSMan.other"} 501`) {
		t.Errorf("the made-up names are not counted as other:\n%s", text)
	}
}

// TestHostName: object paths in answers name the server's host: the
// system's host name by default, or --hostname.
func TestHostName(t *testing.T) {
	system, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	query := `<IPARAMVALUE NAME="QueryLanguage"><VALUE>WQL</VALUE></IPARAMVALUE><IPARAMVALUE NAME="Query"><VALUE>SELECT * FROM Sample_Disk</VALUE></IPARAMVALUE>`
	open := `<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="Sample_Disk"/></IPARAMVALUE><IPARAMVALUE NAME="MaxObjectCount"><VALUE>10</VALUE></IPARAMVALUE>`
	for _, c := range []struct {
		flags []string
		host  string
	}{{nil, system}, {[]string{"--hostname", "cim.example.org"}, "cim.example.org"}} {
		d := startDaemon(t, c.flags...)
		for _, call := range [][2]string{{"ExecQuery", query}, {"OpenEnumerateInstancePaths", open}, {"AssociatorNames", `<IPARAMVALUE NAME="ObjectName">` +
			`<INSTANCENAME CLASSNAME="Sample_Disk"><KEYBINDING NAME="Name"><KEYVALUE VALUETYPE="string">sda</KEYVALUE></KEYBINDING></INSTANCENAME></IPARAMVALUE>`}} {
			rsp, body := cimCall(t, d, "admin", "secret", call[0], call[1])
			if rsp.StatusCode != 200 || !strings.Contains(body, "<HOST>"+c.host+"</HOST>") || strings.Count(body, "<HOST>") != strings.Count(body, "<HOST>"+c.host+"<") {
				t.Errorf("%v %s: HTTP %d, want every HOST %s:\n%s", c.flags, call[0], rsp.StatusCode, c.host, body)
			}
		}
	}
}
