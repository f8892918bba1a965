package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/httpstack"
	"github.com/wbemd/wbemd/internal/testdata"
	"github.com/wbemd/wbemd/protocol/cimxml"
	"github.com/wbemd/wbemd/wql"
)

// answerServer serves CIM-XML from wbemd's handler, or, while body is
// set, answers every call with body: what a broken or hostile server
// could send to the client.
type answerServer struct {
	real http.Handler
	mu   sync.Mutex
	body []byte   // the answer to send; nil: the real handler answers
	seen [][]byte // the real handler's answers, while record is set
	rec  bool
}

func (s *answerServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	body, rec := s.body, s.rec
	s.mu.Unlock()
	if body != nil {
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.Header().Set("CIMOperation", "MethodResponse")
		w.Write(body)
		return
	}
	if !rec {
		s.real.ServeHTTP(w, r)
		return
	}
	cw := httptest.NewRecorder()
	s.real.ServeHTTP(cw, r)
	for k, v := range cw.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(cw.Code)
	w.Write(cw.Body.Bytes())
	s.mu.Lock()
	s.seen = append(s.seen, cw.Body.Bytes())
	s.mu.Unlock()
}

// clientCalls makes one call of each kind of answer the client decodes.
func clientCalls(ctx context.Context, c *Client) []error {
	drain := func(e cimom.Enumerator, err error) error {
		if err != nil {
			return err
		}
		defer e.Close()
		for _, err := range cimom.All(ctx, e) {
			if err != nil {
				return err
			}
		}
		return nil
	}
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	_, err := c.GetObject(ctx, "Sample_Disk", 0, nil)
	add(err)
	_, err = c.GetObject(ctx, `Sample_Disk.Name="sda"`, 0, nil)
	add(err)
	add(drain(c.CreateInstanceEnum(ctx, "Sample_Disk", 0, nil)))
	add(drain(c.CreateClassEnum(ctx, "", 0, nil)))
	add(drain(c.ExecQuery(ctx, "WQL", "SELECT * FROM Sample_Disk", 0, nil)))
	add(drain(c.Associators(ctx, &wql.Assoc{Path: `Sample_Disk.Name="sda"`}, 0, nil)))
	_, err = c.EnumQualifiers(ctx)
	add(err)
	_, err = c.GetQualifier(ctx, "Key")
	add(err)
	_, err = c.PutInstance(ctx, &cim.Object{Genus: cim.GenusInstance, Class: "Sample_Disk", Properties: []cim.Property{
		{Name: "Name", Type: cim.TypeString, Value: cim.Value{Type: cim.TypeString, V: "fz"}}}}, 0, nil)
	add(err)
	in := &cim.Object{Genus: cim.GenusInstance, Class: cimom.ParametersClass, Properties: []cim.Property{
		{Name: "Up", Type: cim.TypeBoolean, Value: cim.Value{Type: cim.TypeBoolean, V: true}}}}
	_, err = c.ExecMethod(ctx, `Sample_Disk.Name="sda"`, "Spin", in, 0, nil)
	add(err)
	_, err = c.GetCallerAccessRights(ctx)
	add(err)
	return errs
}

// FuzzClientAnswer: whatever a server answers, over real HTTP, the
// client returns a result or a WBEM error, and does not panic. The seeds
// are wbemd's own answers to the same calls.
func FuzzClientAnswer(f *testing.F) {
	om := testdata.SampleCIMOM(f)
	if err := om.RegisterMethodProvider("root/sample", "Sample_Disk", testdata.SpinProvider{}); err != nil {
		f.Fatal(err)
	}
	h := &cimxml.Handler{Connector: om}
	as := &answerServer{real: (&httpstack.Stack{Auth: asRoot, MaxRequest: 1 << 20}).Serve(h.Door(), h)}
	srv := httptest.NewServer(as)
	f.Cleanup(srv.Close)
	ctx := context.Background()
	c, err := Dial(ctx, srv.URL, "root/sample", Options{User: "u", Password: "p", Timeout: 10 * time.Second})
	if err != nil {
		f.Fatal(err)
	}
	as.mu.Lock()
	as.rec = true
	as.mu.Unlock()
	c.mu.Lock()
	c.classes = nil
	c.mu.Unlock()
	for i, err := range clientCalls(ctx, c) {
		if err != nil && i != 8 { // PutInstance of an incomplete instance may fail
			f.Fatalf("call %d against wbemd: %v", i, err)
		}
	}
	as.mu.Lock()
	as.rec = false
	as.mu.Unlock()
	for _, b := range as.seen {
		f.Add(b)
	}
	f.Add([]byte(`<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLERSP><IMETHODRESPONSE NAME="GetInstance"><ERROR CODE="6" DESCRIPTION="x"/></IMETHODRESPONSE></SIMPLERSP></MESSAGE></CIM>`))
	f.Add([]byte(`<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLERSP><IMETHODRESPONSE NAME="GetInstance"><ERROR CODE="6" DESCRIPTION="x"><INSTANCE CLASSNAME="CIM_Error"><PROPERTY NAME="MessageID" TYPE="string"><VALUE>WBEM_E_NOT_FOUND</VALUE></PROPERTY></INSTANCE><INSTANCE CLASSNAME="__ExtendedStatus"><PROPERTY NAME="ProviderName" TYPE="string"><VALUE>P</VALUE></PROPERTY><PROPERTY NAME="StatusCode" TYPE="uint32"><VALUE>2147749890</VALUE></PROPERTY></INSTANCE></ERROR></IMETHODRESPONSE></SIMPLERSP></MESSAGE></CIM>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		as.mu.Lock()
		as.body = append([]byte{}, body...)
		as.mu.Unlock()
		defer func() {
			as.mu.Lock()
			as.body = nil
			as.mu.Unlock()
		}()
		c.mu.Lock()
		c.classes = nil
		c.mu.Unlock()
		for i, err := range clientCalls(ctx, c) {
			var ce *cim.Error
			if err != nil && !errors.As(err, &ce) {
				t.Fatalf("call %d: not a WBEM error: %T %v", i, err, err)
			}
		}
	})
}
