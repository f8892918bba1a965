package wsman

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/httpstack"
)

// TestFaultExtendedStatus: a failure of the core answers a fault whose
// WSManFault carries WinRM's ProviderFault naming the provider, with
// WMI's __ExtendedStatus (operation, parameter, provider, status); a
// fault of the protocol itself carries none.
func TestFaultExtendedStatus(t *testing.T) {
	url, _ := newServer(t, nil)
	env, id := msg{action: actGet, uri: diskURI, selectors: [][2]string{{"Name", "nope"}}}.build()
	code, body := post(t, url, env)
	if code != 400 {
		t.Fatalf("HTTP %d\n%s", code, body)
	}
	checkAnswer(t, body, id, e0(body))
	for _, want := range []string{`<f:ProviderFault provider="wbemd" path="wbemd"><f:WSManFault Code="2147749890"`,
		`<f:ExtendedError><p:__ExtendedStatus xmlns:p="` + uriWMI + `root/sample/__ExtendedStatus"`,
		`<p:Operation>GetObject</p:Operation>`, `<p:ParameterInfo>Sample_Disk.Name=&quot;nope&quot;</p:ParameterInfo>`,
		`<p:ProviderName>wbemd</p:ProviderName>`, `<p:StatusCode>2147749890</p:StatusCode>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the fault lacks %s\n%s", want, body)
		}
	}
	env, _ = msg{action: "http://example.com/Frob", uri: diskURI}.build()
	if _, body = post(t, url, env); strings.Contains(body, "ProviderFault") {
		t.Errorf("a protocol fault names a provider:\n%s", body)
	}
}

// watched is the repository's connector, remembering the locale each
// read of the door asks for.
type watched struct {
	cimom.Connector
	mu      sync.Mutex
	locales []string
}

func (w *watched) Connect(ctx context.Context, ns string, p cimom.Principal) (cimom.Services, error) {
	svc, err := w.Connector.Connect(ctx, ns, p)
	if err != nil {
		return nil, err
	}
	return &watchedServices{Services: svc, w: w}, nil
}

type watchedServices struct {
	cimom.Services
	w *watched
}

func (s *watchedServices) GetObject(ctx context.Context, path string, flags cimom.Flags, wctx *cimom.Context) (*cim.Object, error) {
	s.w.mu.Lock()
	s.w.locales = append(s.w.locales, cimom.LocaleOf(flags, wctx))
	s.w.mu.Unlock()
	return s.Services.GetObject(ctx, path, flags, wctx)
}

// TestLocale: wsman:Locale reaches the core as
// WBEM_FLAG_USE_AMENDED_QUALIFIERS in its locale; without it, or with a
// language wbemd does not know, the read is neutral.
func TestLocale(t *testing.T) {
	var w *watched
	url, _ := newServer(t, func(h *Handler, _ *httpstack.Stack) {
		w = &watched{Connector: h.Connector}
		h.Connector = w
	})
	for _, c := range []struct{ header, want string }{
		{"", ""},
		{`<wsman:Locale xml:lang="en-US" s:mustUnderstand="false"/>`, "MS_409"},
		{`<wsman:Locale xml:lang="de-DE" s:mustUnderstand="false"/>`, "MS_407"},
		{`<wsman:Locale xml:lang="tlh" s:mustUnderstand="false"/>`, ""},
	} {
		w.mu.Lock()
		w.locales = nil
		w.mu.Unlock()
		do(t, url, msg{action: actGet, uri: diskURI, selectors: [][2]string{{"Name", "sda"}}, headers: c.header}, 200, actGet+"Response")
		w.mu.Lock()
		got := w.locales
		w.mu.Unlock()
		if len(got) == 0 || got[0] != c.want {
			t.Errorf("%s: the core was asked for locale %q, want %q", c.header, got, c.want)
		}
	}
}

// FuzzFaultDetail: any extended status encodes as a well-formed fault
// whose __ExtendedStatus gives back the provider's name.
func FuzzFaultDetail(f *testing.F) {
	f.Add("no instance <x>", "GetObject", `A.K="v"`, "WBEMD_Linux", "root/cimv2")
	f.Add("", "", "", "p&q", "")
	f.Fuzz(func(t *testing.T, desc, op, param, provider, ns string) {
		for _, s := range []string{desc, op, param, provider, ns} {
			if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0xFFFE || r == 0xFFFF }) {
				return // XML 1.0 cannot carry these characters
			}
		}
		e := &cim.Error{Status: cim.ENotFound, Description: desc, Operation: op, Parameter: param, Provider: provider}
		fault := faultOf(e)
		fault.ns = ns
		var o out
		writeFault(&o, nsSOAP12, "uuid:1", true, "m", fault)
		root, err := parseXML(bytes.NewReader(o.b))
		if err != nil {
			t.Fatalf("the fault does not parse: %v\n%s", err, o.b)
		}
		if provider == "" {
			return
		}
		var name string
		var walk func(e *elem)
		walk = func(e *elem) {
			if e.local == "ProviderName" {
				name = e.text
			}
			for _, k := range e.kids {
				walk(k)
			}
		}
		walk(root)
		if name != provider {
			t.Fatalf("ProviderName %q, want %q", name, provider)
		}
	})
}
