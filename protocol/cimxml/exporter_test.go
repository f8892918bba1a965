package cimxml

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/cim"
)

// indicationFixture is an indication with an embedded instance, as the
// deliverer sends it.
func indicationFixture() *cim.Object {
	target := &cim.Object{Genus: cim.GenusInstance, Class: "Item", Properties: []cim.Property{
		{Name: "Id", Type: cim.TypeString, Value: cim.Value{Type: cim.TypeString, V: `a<"&>`}}}}
	return &cim.Object{Genus: cim.GenusInstance, Class: "__InstanceCreationEvent", Properties: []cim.Property{
		{Name: "TargetInstance", Type: cim.TypeObject, Value: cim.Value{Type: cim.TypeObject, V: target}},
		{Name: "SequenceContext", Type: cim.TypeString, Value: cim.Value{Type: cim.TypeString, V: "ctx-1"}},
		{Name: "SequenceNumber", Type: cim.TypeSint64, Value: cim.Value{Type: cim.TypeSint64, V: int64(7)}},
	}}
}

// TestExportRoundTrip: an exported indication is valid CIM-XML, and the
// listener side decodes it with its embedded instance; the listener's
// answers read back as success or as its error.
func TestExportRoundTrip(t *testing.T) {
	var doc bytes.Buffer
	EncodeExportIndication(&doc, "42", indicationFixture())
	validateDTD(t, doc.String())

	var got *cim.Object
	var consumer string
	fail := false
	srv := httptest.NewServer(&Listener{Deliver: func(ctx context.Context, c string, ind *cim.Object) error {
		if fail {
			return cim.Errorf(cim.EAccessDenied, "no")
		}
		got, consumer = ind, c
		return nil
	}})
	defer srv.Close()
	send := func() error {
		req, err := NewExportRequest(context.Background(), srv.URL+"/CIMListener/mine", "42", indicationFixture())
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return CheckExportResponse(resp, 1<<20)
	}
	if err := send(); err != nil {
		t.Fatal(err)
	}
	if consumer != "mine" || got == nil || got.Class != "__InstanceCreationEvent" {
		t.Fatalf("listener got %q %v", consumer, got)
	}
	if v, _ := got.Get("SequenceNumber"); v.V != int64(7) {
		t.Errorf("SequenceNumber %v", v)
	}
	tv, _ := got.Get("TargetInstance")
	inner, ok := tv.V.(*cim.Object)
	if !ok {
		t.Fatalf("TargetInstance %#v", tv)
	}
	if id, _ := inner.Get("Id"); id.V != `a<"&>` {
		t.Errorf("embedded Id %v", id)
	}
	fail = true
	if err := send(); cim.StatusOf(err) != cim.EAccessDenied {
		t.Errorf("a listener's ERROR reads as %v", err)
	}
	for _, bad := range []string{"", "<CIM/>", `<CIM><MESSAGE><SIMPLEEXPRSP/></MESSAGE></CIM>`,
		`<CIM><MESSAGE><SIMPLEEXPRSP><EXPMETHODRESPONSE><ERROR CODE="x"/></EXPMETHODRESPONSE></SIMPLEEXPRSP></MESSAGE></CIM>`} {
		if err := ParseExportResponse(strings.NewReader(bad)); err == nil {
			t.Errorf("%q reads as success", bad)
		}
	}
}

// FuzzExportResponse: any listener answer reads as success or an error,
// never a panic.
func FuzzExportResponse(f *testing.F) {
	f.Add(`<?xml version="1.0"?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEEXPRSP><EXPMETHODRESPONSE NAME="ExportIndication"/></SIMPLEEXPRSP></MESSAGE></CIM>`)
	f.Add(`<CIM><MESSAGE><SIMPLEEXPRSP><EXPMETHODRESPONSE><ERROR CODE="4" DESCRIPTION="x"/></EXPMETHODRESPONSE></SIMPLEEXPRSP></MESSAGE></CIM>`)
	f.Fuzz(func(t *testing.T, doc string) {
		ParseExportResponse(strings.NewReader(doc))
	})
}
