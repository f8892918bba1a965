package server_test

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const (
	dmtfURI  = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
	wmiURI   = "http://schemas.microsoft.com/wbem/wsman/1/wmi/"
	secClass = "__SystemSecurity"
)

// wellFormed checks that every XML document in s parses.
func wellFormed(t *testing.T, what, s string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Errorf("%s: answer is not well-formed XML: %v\n%s", what, err, s)
			return
		}
	}
}

// pywinrm runs one operation through pywinrm's Protocol.
type winrmResult struct {
	OK      bool     `json:"ok"`
	Answers []string `json:"answers"`
	Error   string   `json:"error"`
	Text    string   `json:"text"`
	Fault   string   `json:"fault"` // the fault envelope pywinrm read
}

func pywinrm(t *testing.T, d *daemon, endpoint, user, pw, op string, args map[string]any) winrmResult {
	t.Helper()
	a, _ := json.Marshal(args)
	cmd := exec.Command("/usr/bin/python3", "testdata/winrm_op.py", endpoint, user, pw, op, string(a))
	cmd.Env = append(os.Environ(), "WBEMD_CA="+filepath.Join(d.repo, "cert.pem"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pywinrm %s: %v\n%s%s", op, err, out, stderr.String())
	}
	var r winrmResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("pywinrm %s: %v\n%s", op, err, out)
	}
	for _, a := range r.Answers {
		wellFormed(t, "pywinrm "+op, a)
	}
	return r
}

// TestPywinrm drives wbemd's WS-Management door with pywinrm over HTTP
// and HTTPS: Identify, enumerations in every mode with a one-element
// pull loop, get (DMTF and WMI URIs), put, create, delete, invoke with
// out-parameters, faults and a wrong password.
func TestPywinrm(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import winrm").Run(); err != nil {
		t.Fatal("python3-winrm is not installed (apt-get install python3-winrm; .ci/run does)")
	}
	d := startDaemon(t, "--wsman-namespace", "root/sample")
	for _, ep := range []string{"http://" + d.wsman + "/wsman", "https://" + d.wsmans + "/wsman"} {
		run := func(op string, args map[string]any) winrmResult {
			t.Helper()
			r := pywinrm(t, d, ep, "admin", "secret", op, args)
			if !r.OK {
				t.Fatalf("%s %s: %s: %s", ep, op, r.Error, r.Text)
			}
			return r
		}
		disk := dmtfURI + "Sample_Disk"
		if r := run("identify", nil); !strings.Contains(r.Answers[0], "IdentifyResponse") || !strings.Contains(r.Answers[0], "wbemd") {
			t.Errorf("identify: %s", r.Answers[0])
		}
		names := regexp.MustCompile(`<p:Name>([^<]+)</p:Name>`)
		count := func(r winrmResult) (int, string) {
			var got []string
			for _, a := range r.Answers {
				for _, m := range names.FindAllStringSubmatch(a, -1) {
					got = append(got, m[1])
				}
			}
			return len(r.Answers), strings.Join(got, ",")
		}
		// Plain: Enumerate, then Pulls of one element until the end.
		if n, got := count(run("enumerate", map[string]any{"uri": disk, "pull": 1})); n != 3 || got != "sda,sdb" {
			t.Errorf("plain enumerate: %d answers, %s", n, got)
		}
		if n, got := count(run("enumerate", map[string]any{"uri": disk, "optimize": true, "max": 32000})); n != 1 || got != "sda,sdb" {
			t.Errorf("optimized enumerate: %d answers, %s", n, got)
		}
		r := run("enumerate", map[string]any{"uri": disk, "optimize": true, "max": 1, "mode": "epr"})
		if len(r.Answers) != 2 || !strings.Contains(r.Answers[0], `<wsman:Selector Name="Name">sda</wsman:Selector>`) || !strings.Contains(r.Answers[1], `<wsman:Selector Name="Name">sdb</wsman:Selector>`) {
			t.Errorf("EnumerateEPR: %q", r.Answers)
		}
		r = run("enumerate", map[string]any{"uri": wmiURI + "root/sample/Sample_Volume", "mode": "objepr", "pull": 5})
		if n, got := count(r); got != "sda2,sdb1" || !strings.Contains(r.Answers[n-1], "<wsman:Item") {
			t.Errorf("EnumerateObjectAndEPR (WMI URI): %s %q", got, r.Answers)
		}
		r = run("enumerate", map[string]any{"uri": "http://schemas.dmtf.org/wbem/wscim/1/*", "optimize": true, "max": 10, "wql": "SELECT * FROM Sample_Disk WHERE Name = 'sdb'"})
		if _, got := count(r); got != "sdb" {
			t.Errorf("WQL enumerate: %s", got)
		}
		// A CQL filter (DSP0227 §8.1, DSP0202) and wsmb:PolymorphismMode
		// (DSP0227 §8.2).
		r = run("enumerate", map[string]any{"uri": disk, "optimize": true, "max": 10, "cql": "SELECT * FROM Sample_Disk d WHERE d.Model LIKE 'WD.*'"})
		if _, got := count(r); got != "sdb" {
			t.Errorf("CQL enumerate: %s", got)
		}
		se := dmtfURI + "Sample_StorageElement"
		r = run("enumerate", map[string]any{"uri": se, "optimize": true, "max": 10, "polymorphism": "ExcludeSubClassProperties"})
		if _, got := count(r); got != "sda,sda2,sdb,sdb1" || strings.Contains(r.Answers[0], "RotationRate") || strings.Contains(r.Answers[0], "FileSystem") || !strings.Contains(r.Answers[0], "<p:Model>WD Blue</p:Model>") {
			t.Errorf("ExcludeSubClassProperties: %s %q", got, r.Answers)
		}
		r = run("enumerate", map[string]any{"uri": se, "optimize": true, "max": 10, "polymorphism": "IncludeSubClassProperties"})
		if _, got := count(r); got != "sda,sda2,sdb,sdb1" || !strings.Contains(r.Answers[0], "<p:FileSystem>xfs</p:FileSystem>") {
			t.Errorf("IncludeSubClassProperties: %s %q", got, r.Answers)
		}
		r = run("enumerate", map[string]any{"uri": dmtfURI + "Sample_Volume", "optimize": true, "max": 10, "polymorphism": "None"})
		if _, got := count(r); got != "sda2,sdb1" {
			t.Errorf("PolymorphismMode None: %s", got)
		}
		r = run("get", map[string]any{"uri": disk, "selectors": map[string]string{"Name": "sda"}, "nobody": true})
		if !strings.Contains(r.Answers[0], "<p:Model>Samsung 980</p:Model>") {
			t.Errorf("get: %s", r.Answers[0])
		}
		r = run("get", map[string]any{"uri": wmiURI + "root/sample/Sample_Disk", "selectors": map[string]string{"Name": "sdb"}})
		if !strings.Contains(r.Answers[0], "<p:RotationRate>7200</p:RotationRate>") {
			t.Errorf("get (WMI URI): %s", r.Answers[0])
		}
		r = run("create", map[string]any{"uri": disk, "props": map[string]string{"Name": "sdx", "Model": "pywinrm", "SizeBytes": "42"}})
		if !strings.Contains(r.Answers[0], "ResourceCreated") || !strings.Contains(r.Answers[0], `<wsman:Selector Name="Name">sdx</wsman:Selector>`) {
			t.Errorf("create: %s", r.Answers[0])
		}
		r = run("put", map[string]any{"uri": disk, "selectors": map[string]string{"Name": "sdx"}, "props": map[string]string{"RotationRate": "10000"}})
		if !strings.Contains(r.Answers[0], "<p:RotationRate>10000</p:RotationRate>") || !strings.Contains(r.Answers[0], "<p:Model>pywinrm</p:Model>") {
			t.Errorf("put: %s", r.Answers[0])
		}
		run("delete", map[string]any{"uri": disk, "selectors": map[string]string{"Name": "sdx"}})
		r = run("invoke", map[string]any{"uri": dmtfURI + secClass, "method": "GetCallerAccessRights"})
		if !regexp.MustCompile(`<p:GetCallerAccessRights_OUTPUT[^>]*><p:Rights>\d+</p:Rights><p:ReturnValue>0</p:ReturnValue>`).MatchString(r.Answers[0]) {
			t.Errorf("invoke: %s", r.Answers[0])
		}
		// The namespace's security descriptor, as SDDL.
		r = run("invoke", map[string]any{"uri": dmtfURI + secClass, "method": "GetSD"})
		if !regexp.MustCompile(`<p:GetSD_OUTPUT[^>]*><p:SDDL>O:BAG:BAD:\(A;CIID;CCDCLCSWRPWPDTLORCWD;;;BA\)`).MatchString(r.Answers[0]) {
			t.Errorf("invoke GetSD: %s", r.Answers[0])
		}
		// Faults come back as WinRMError with their subcode.
		for _, c := range []struct {
			op, want string
			args     map[string]any
		}{
			{"get", "wsa:DestinationUnreachable", map[string]any{"uri": disk, "selectors": map[string]string{"Name": "sdx"}}},
			{"get", "wsman:InvalidSelectors", map[string]any{"uri": disk, "selectors": map[string]string{"Colour": "red"}}},
			{"delete", "wsa:DestinationUnreachable", map[string]any{"uri": disk, "selectors": map[string]string{"Name": "sdx"}}},
		} {
			f := pywinrm(t, d, ep, "admin", "secret", c.op, c.args)
			if f.OK || f.Error != "WinRMError" || !strings.Contains(f.Text, "'fault_subcode': '"+c.want+"'") || !strings.Contains(f.Text, "'http_status_code': 400") || !strings.Contains(f.Text, "'wsmanfault_code': '") {
				t.Errorf("%s fault: %+v", c.op, f)
			}
		}
		if f := pywinrm(t, d, ep, "admin", "wrong", "get", map[string]any{"uri": disk, "selectors": map[string]string{"Name": "sda"}}); f.OK || f.Error != "InvalidCredentialsError" {
			t.Errorf("wrong password: %+v", f)
		}
	}
}

// wslRun runs one wsl command against wbemd and returns its output.
func wslRun(t *testing.T, d *daemon, pw string, env []string, args ...string) (string, int) {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "WSENDPOINT="+d.wsman, "WSUSER=admin", "WSPASS="+pw, "WSNOSSL=true",
		"KEEPHISTORY=0", "IPINTERACTIVE=0", "OUTPREFIX="+dir, "OUTLEVEL=1")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return string(out), code
}

// xmlOf returns the XML document wsl printed (its answer).
func xmlOf(s string) string {
	if i := strings.Index(s, "<?xml"); i >= 0 {
		s = s[i:]
		if j := strings.LastIndex(s, "</s:Envelope>"); j >= 0 {
			return s[:j+len("</s:Envelope>")]
		}
	}
	return ""
}

// TestWsl drives wbemd's WS-Management door with wsl (curl + xmllint):
// identify, enum in every mode, the wslenum pull loop of one element per
// Pull, get, put (whole instance and fragment), invoke with
// out-parameters, faults for a missing instance and a bad selector, and a
// wrong password. Sample_* classes go out under wsl's vendor base URI,
// which wbemd accepts by its last segment.
func TestWsl(t *testing.T) {
	for _, tool := range []string{"wsl", "uuidgen", "xmllint", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (apt-get install wsl uuid-runtime; .ci/run does)", tool)
		}
	}
	d := startDaemon(t, "--wsman-namespace", "root/sample")
	check := func(what, out string, wants ...string) {
		t.Helper()
		doc := xmlOf(out)
		if doc == "" {
			t.Errorf("%s: no answer printed:\n%s", what, out)
			return
		}
		wellFormed(t, what, doc)
		for _, w := range wants {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", what, w, out)
			}
		}
	}
	out, _ := wslRun(t, d, "secret", nil, "wsl", "id", "check")
	check("wsl id", out, "IdentifyResponse", "<wsmid:ProductVendor>wbemd</wsmid:ProductVendor>")
	out, code := wslRun(t, d, "secret", nil, "wsl", "enum", "Sample_Disk")
	check("wsl enum", out, "EnumerateResponse", "<p:Name>sda</p:Name>", "<p:Name>sdb</p:Name>", "EndOfSequence")
	if code != 0 {
		t.Errorf("wsl enum: exit %d", code)
	}
	out, code = wslRun(t, d, "secret", nil, "wsl", "enum", "Sample_Disk", "-mode", "epr")
	check("wsl enum -mode epr", out, `<wsman:Selector Name="Name">sda</wsman:Selector>`, `<wsman:Selector Name="__cimnamespace">root/sample</wsman:Selector>`)
	if code != 0 {
		t.Errorf("wsl enum -mode epr: exit %d", code)
	}
	out, code = wslRun(t, d, "secret", nil, "wsl", "enum", "Sample_Volume", "-mode", "objepr", "-ns", "root/sample")
	check("wsl enum -mode objepr", out, "<wsman:Item", "<p:Name>sda2</p:Name>", "<p:FileSystem>xfs</p:FileSystem>")
	if code != 0 {
		t.Errorf("wsl enum -mode objepr: exit %d", code)
	}
	out, _ = wslRun(t, d, "secret", nil, "wsl", "enum", "Sample_Disk", "-filter", "select * from Sample_Disk where Name='sdb'", "-dialect", "http://schemas.dmtf.org/wbem/cql/1/dsp0202.pdf")
	check("wsl enum CQL", out, "<p:Name>sdb</p:Name>")
	if strings.Contains(out, "<p:Name>sda</p:Name>") {
		t.Errorf("CQL filter Name='sdb' gave sda:\n%s", out)
	}
	// wsl's association options are named the other way round:
	// -references sends AssociatedInstances, -associators
	// AssociationInstances.
	out, _ = wslRun(t, d, "secret", nil, "wsl", "enum", "Sample_Disk", "-references", "Name=sda")
	check("wsl enum -references", out, "<p:Name>sda2</p:Name>", "<p:FileSystem>ext4</p:FileSystem>")
	out, _ = wslRun(t, d, "secret", nil, "wsl", "enum", "Sample_Disk", "-associators", "Name=sda")
	check("wsl enum -associators", out, "Sample_DiskVolume", "<p:Disk>", `<wsman:Selector Name="Name">sda2</wsman:Selector>`)
	out, _ = wslRun(t, d, "secret", nil, "wsl", "enum", "Sample_Disk", "-dialect", "http://schemas.dmtf.org/wbem/wsman/1/wsman/SelectorFilter", "-filter", "Name=sdb")
	check("wsl enum selector filter", out, "<p:Name>sdb</p:Name>")
	if strings.Contains(out, "<p:Name>sda</p:Name>") {
		t.Errorf("selector filter Name=sdb gave sda:\n%s", out)
	}
	// Plain Enumerate and Pulls of one element each, until the end.
	out, code = wslRun(t, d, "secret", nil, "wslenum", "Sample_Disk")
	if code != 0 || strings.Count(out, "PullResponse") < 1 {
		t.Errorf("wslenum: exit %d\n%s", code, out)
	}
	dir := t.TempDir()
	out, _ = wslRun(t, d, "secret", []string{"OUTPREFIX=" + dir, "OUTLEVEL=3"}, "wslenum", "Sample_Disk")
	pulls, _ := filepath.Glob(filepath.Join(dir, "response-*.xml"))
	if len(pulls) != 3 || !strings.Contains(out, "<p:Name>sda</p:Name>") || !strings.Contains(out, "<p:Name>sdb</p:Name>") {
		t.Errorf("wslenum: %d answers (want Enumerate + 2 Pulls)\n%s", len(pulls), out)
	}
	for _, f := range pulls {
		b, _ := os.ReadFile(f)
		wellFormed(t, f, string(b))
	}
	out, code = wslRun(t, d, "secret", nil, "wsl", "get", "Sample_Disk", "Name=sda")
	check("wsl get", out, "<p:Model>Samsung 980</p:Model>")
	if code != 0 {
		t.Errorf("wsl get: exit %d", code)
	}
	// Put rebuilds the first instance (sda) from an EnumerateObjectAndEPR
	// answer; its exit code is always 1, so the output is what counts.
	out, _ = wslRun(t, d, "secret", nil, "wsl", "put", "Sample_Disk", "SizeBytes=77")
	check("wsl put", out, "PutResponse", "<p:SizeBytes>77</p:SizeBytes>", "<p:Name>sda</p:Name>")
	out, _ = wslRun(t, d, "secret", nil, "wsl", "put", "Sample_Disk", "RotationRate=5400", "-fragment")
	check("wsl put -fragment", out, "PutResponse", "<RotationRate>5400</RotationRate>")
	// put and invoke -filter find their instance with a CQL filter
	// (wsl's default dialect) in an EnumerateEPR.
	out, _ = wslRun(t, d, "secret", nil, "wsl", "put", "Sample_Disk", "RotationRate=4200", "-filter", "select * from Sample_Disk where Name='sdb'")
	check("wsl put -filter", out, "PutResponse", "<p:Name>sdb</p:Name>", "<p:RotationRate>4200</p:RotationRate>")
	dir = t.TempDir()
	out, _ = wslRun(t, d, "secret", []string{"OUTPREFIX=" + dir, "OUTLEVEL=3"}, "wsl", "invoke", "Sample_Disk", "Spin", "Up=true", "-filter", "select * from Sample_Disk where Name='sdb'")
	// No provider serves Spin in the daemon: the call reaches sdb and is
	// refused there (wsl prints several documents: no well-formedness
	// check of the whole output).
	if !strings.Contains(out, "wsa:ActionNotSupported") || !strings.Contains(out, "WBEM_E_METHOD_NOT_IMPLEMENTED") {
		t.Errorf("wsl invoke -filter:\n%s", out)
	}
	reqs, _ := filepath.Glob(filepath.Join(dir, "request-*.xml"))
	invoked := false
	for _, f := range reqs {
		b, _ := os.ReadFile(f)
		if strings.Contains(string(b), "Spin_INPUT") && strings.Contains(string(b), ">sdb</wsman:Selector>") {
			invoked = true
		}
	}
	if !invoked {
		t.Errorf("wsl invoke -filter did not invoke Spin on sdb (%d requests):\n%s", len(reqs), out)
	}
	out, _ = wslRun(t, d, "secret", nil, "wsl", "get", "Sample_Disk", "Name=sda")
	check("wsl get after put", out, "<p:SizeBytes>77</p:SizeBytes>", "<p:Model>Samsung 980</p:Model>", "<p:RotationRate>5400</p:RotationRate>", "<p:Tags>nvme</p:Tags>")
	// Invoke: a class-level call of __SystemSecurity, its EPR given in a
	// file as wsl takes it.
	epr := filepath.Join(t.TempDir(), "epr.xml")
	os.WriteFile(epr, []byte("<wsa:EndpointReference>\n<wsa:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address>\n<wsa:ReferenceParameters>\n<wsman:ResourceURI>"+dmtfURI+secClass+"</wsman:ResourceURI>\n<wsman:SelectorSet>\n<wsman:Selector Name=\"__cimnamespace\">root/sample</wsman:Selector>\n</wsman:SelectorSet>\n</wsa:ReferenceParameters>\n</wsa:EndpointReference>\n"), 0o644)
	out, code = wslRun(t, d, "secret", nil, "wsl", "invoke", secClass, "GetCallerAccessRights", "-inst", epr)
	check("wsl invoke", out, "GetCallerAccessRights_OUTPUT", "<p:ReturnValue>0</p:ReturnValue>", "<p:Rights>")
	if code != 0 {
		t.Errorf("wsl invoke: exit %d", code)
	}
	out, _ = wslRun(t, d, "secret", nil, "wsl", "get", "Sample_Disk", "Name=nope")
	check("wsl get missing", out, "wsa:DestinationUnreachable", `Code="2147749890"`)
	out, _ = wslRun(t, d, "secret", nil, "wsl", "get", "Sample_Disk", "Colour=red")
	check("wsl get bad selector", out, "wsman:InvalidSelectors")
	// Over HTTPS (wsl runs curl --insecure without WSNOSSL).
	out, code = wslRun(t, d, "secret", []string{"WSENDPOINT=" + d.wsmans, "WSNOSSL="}, "wsl", "get", "Sample_Disk", "Name=sdb")
	check("wsl get over HTTPS", out, "<p:Model>WD Blue</p:Model>")
	if code != 0 {
		t.Errorf("wsl get over HTTPS: exit %d", code)
	}
	out, code = wslRun(t, d, "wrong", nil, "wsl", "get", "Sample_Disk", "Name=sda")
	if code == 0 || !strings.Contains(out, "is empty, verify credentials") {
		t.Errorf("wsl with a wrong password: exit %d\n%s", code, out)
	}
}
