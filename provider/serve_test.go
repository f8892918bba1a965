package provider

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/provider/wire"
)

// pipe is one end of a wire whose input is fixed: what ServeConn writes
// is kept.
type pipe struct {
	in  io.Reader
	out bytes.Buffer
}

func (p *pipe) Read(b []byte) (int, error)  { return p.in.Read(b) }
func (p *pipe) Write(b []byte) (int, error) { return p.out.Write(b) }

func frames(msgs ...string) []byte {
	var b []byte
	for _, m := range msgs {
		var hdr [4]byte
		binary.BigEndian.PutUint32(hdr[:], uint32(len(m)))
		b = append(append(b, hdr[:]...), m...)
	}
	return b
}

func testProvider() *Provider {
	return &Provider{Name: "P", Classes: map[string]*Class{
		"C": {
			Get: func(ctx context.Context, r *Request) (Instance, error) {
				if r.Keys.String("Name") == "x" {
					return Instance{"Name": "x", "N": 1}, nil
				}
				return nil, cim.Errorf(cim.ENotFound, "no %s", r.Keys.String("Name"))
			},
			Enumerate: func(ctx context.Context, r *Request, send func(Instance) error) error {
				for i := 0; i < 3; i++ {
					if err := send(Instance{"Name": i}); err != nil {
						return err
					}
				}
				return nil
			},
			Methods: map[string]Method{"Boom": func(ctx context.Context, r *Request) (Instance, error) { panic("boom") }},
		},
	}}
}

// answers runs ServeConn over the frames and returns what it answered.
func answers(t testing.TB, input []byte) []*wire.Message {
	p := &pipe{in: bytes.NewReader(input)}
	ServeConn(p, testProvider())
	var out []*wire.Message
	r := wire.NewReader(&p.out, 0)
	for {
		m, err := r.Read()
		if err != nil {
			return out
		}
		out = append(out, m)
	}
}

// conn is a wire end made of two pipes.
type conn struct {
	io.Reader
	io.Writer
}

func TestServe(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error)
	go func() { done <- ServeConn(conn{inR, outW}, testProvider()); outW.Close() }()
	go inW.Write(frames(
		`{"type":"hello","versions":[1]}`,
		`{"type":"get","id":1,"provider":"P","class":"C","keys":{"Name":"x"}}`,
		`{"type":"get","id":2,"provider":"p","class":"c","keys":{"Name":"y"}}`,
		`{"type":"enumerate","id":3,"provider":"P","class":"C","window":1}`,
		`{"type":"invoke","id":4,"provider":"P","class":"C","method":"Boom"}`,
		`{"type":"delete","id":5,"provider":"P","class":"C","keys":{}}`,
		`{"type":"get","id":6,"provider":"Q","class":"C","keys":{}}`,
	))
	var got []*wire.Message
	r := wire.NewReader(outR, 0)
	for finals := 0; finals < 7; {
		m, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
		if m.Type != wire.TypeInstance {
			finals++
		} else {
			go inW.Write(frames(`{"type":"more","id":3,"count":1}`)) // as wbemd grants: after each item
		}
	}
	inW.Close()
	if err := <-done; err != nil {
		t.Fatalf("ServeConn at the end of its input: %v", err)
	}
	byID := map[uint64][]string{}
	for _, m := range got {
		byID[m.ID] = append(byID[m.ID], m.Type+" "+m.Status+" "+string(m.Instance))
	}
	want := map[uint64]string{
		0: `hello  `,
		1: `result  {"N":1,"Name":"x"}`,
		2: `error WBEM_E_NOT_FOUND `,
		3: `instance  {"Name":0}|instance  {"Name":1}|instance  {"Name":2}|result  `,
		4: `error WBEM_E_PROVIDER_FAILURE `,
		5: `error WBEM_E_PROVIDER_NOT_CAPABLE `,
		6: `error WBEM_E_PROVIDER_NOT_FOUND `,
	}
	for id, w := range want {
		if g := strings.Join(byID[id], "|"); g != w {
			t.Errorf("call %d: %q, want %q", id, g, w)
		}
	}
}

// FuzzServe: whatever frames reach a provider, ServeConn answers or
// stops with an error; it never panics, and what it writes are frames.
func FuzzServe(f *testing.F) {
	f.Add(frames(`{"type":"hello","versions":[1]}`, `{"type":"get","id":1,"provider":"P","class":"C","keys":{"Name":"x"}}`))
	f.Add(frames(`{"type":"enumerate","id":3,"provider":"P","class":"C","window":1}`, `{"type":"cancel","id":3}`))
	f.Add(frames(`{"type":"invoke","id":4,"provider":"P","class":"C","method":"boom","in":{"a":[1,{"b":null}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, m := range answers(t, data) {
			if err := m.Check(); err != nil {
				t.Fatalf("answered a message Check refuses: %v", err)
			}
			json.Marshal(m)
		}
	})
}

// TestServeOrder: the frames of each call reach the wire in the order the
// call put them, while many calls stream at once and the reader is slow
// at times (frames then queue, and senders write their own once the queue
// is empty: both paths mix).
func TestServeOrder(t *testing.T) {
	const calls, items = 16, 300
	p := &Provider{Name: "P", Classes: map[string]*Class{"C": {
		Enumerate: func(ctx context.Context, r *Request, send func(Instance) error) error {
			for i := range items {
				if err := send(Instance{"N": i}); err != nil {
					return err
				}
			}
			return nil
		},
	}}}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error)
	go func() { done <- ServeConn(conn{inR, outW}, p); outW.Close() }()
	var req []string
	for id := 1; id <= calls; id++ {
		req = append(req, fmt.Sprintf(`{"type":"enumerate","id":%d,"provider":"P","class":"C","window":%d}`, id, items))
	}
	go inW.Write(frames(req...))
	next := map[uint64]int{}
	r := wire.NewReader(outR, 0)
	for finals, n := 0, 0; finals < calls; n++ {
		if n%97 == 0 {
			time.Sleep(time.Millisecond) // a slow reader: the senders queue
		}
		m, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		switch m.Type {
		case wire.TypeInstance:
			var inst struct{ N int }
			if err := json.Unmarshal(m.Instance, &inst); err != nil {
				t.Fatal(err)
			}
			if inst.N != next[m.ID] {
				t.Fatalf("call %d: item %d after %d items", m.ID, inst.N, next[m.ID])
			}
			next[m.ID]++
		case wire.TypeResult:
			if next[m.ID] != items {
				t.Fatalf("call %d ended after %d items", m.ID, next[m.ID])
			}
			finals++
		default:
			t.Fatalf("unexpected %s %s: %s", m.Type, m.Status, m.Description)
		}
	}
	inW.Close()
	if err := <-done; err != nil {
		t.Fatalf("ServeConn at the end of its input: %v", err)
	}
}
