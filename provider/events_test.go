package provider

import (
	"encoding/json"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/wbemd/wbemd/provider/wire"
)

// TestEvents: the SDK's event side over a real connection: newQuery and
// cancelQuery reach the callbacks, Raise sends an event frame only while
// a query is active, and refuses once the wire is closed.
func TestEvents(t *testing.T) {
	ours, theirs := net.Pipe()
	p := testProvider()
	seen := make(chan string, 4)
	p.Events = &Events{
		NewQuery:    func(q *EventQuery) { seen <- "new " + q.Namespace + " " + q.Query.Class + " " + q.Text },
		CancelQuery: func(q *EventQuery) { seen <- "cancel " + q.Text },
	}
	if err := p.Raise("", Instance{"__CLASS": "E"}); !errors.Is(err, ErrNotServing) {
		t.Fatalf("Raise before Serve: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- ServeConn(theirs, p) }()
	w, r := wire.NewWriter(ours), wire.NewReader(ours, 0)
	wait := func(want string) {
		t.Helper()
		select {
		case got := <-seen:
			if got != want {
				t.Fatalf("callback %q, want %q", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no callback %q", want)
		}
	}
	w.Write(&wire.Message{Type: wire.TypeNewQuery, ID: 7, Provider: "p", Namespace: "root/x", Text: "SELECT * FROM E",
		Query: &wire.Query{Class: "E"}})
	wait("new root/x E SELECT * FROM E")
	if qs := p.Queries(); len(qs) != 1 || qs[0].ID != 7 {
		t.Fatalf("Queries %+v", qs)
	}
	go func() {
		p.Raise("root/other", Instance{"__CLASS": "E", "N": 0}) // no query there: not sent
		p.Raise("root/x", CreationEvent(Instance{"__CLASS": "C", "Name": "a"}))
	}()
	m, err := r.Read()
	if err != nil || m.Type != wire.TypeEvent || m.Provider != "P" || m.Namespace != "root/x" {
		t.Fatalf("read %+v %v", m, err)
	}
	var ev map[string]any
	json.Unmarshal(m.Event, &ev)
	if ev["__CLASS"] != "__InstanceCreationEvent" || ev["TargetInstance"].(map[string]any)["Name"] != "a" {
		t.Fatalf("event %s", m.Event)
	}
	w.Write(&wire.Message{Type: wire.TypeCancelQuery, ID: 7})
	wait("cancel SELECT * FROM E")
	if err := p.Raise("", Instance{"__CLASS": "E"}); err != nil || len(p.Queries()) != 0 {
		t.Fatalf("Raise without queries: %v, queries %v", err, p.Queries())
	}
	// What comes next is the answer to a call, not an event.
	w.Write(&wire.Message{Type: wire.TypeGet, ID: 9, Provider: "P", Class: "C", Keys: json.RawMessage(`{"Name":"x"}`)})
	if m, err := r.Read(); err != nil || m.Type != wire.TypeResult || m.ID != 9 {
		t.Fatalf("after the cancel: %+v %v", m, err)
	}
	// A query still active when the wire closes is cancelled.
	w.Write(&wire.Message{Type: wire.TypeNewQuery, ID: 8, Provider: "P", Namespace: "root/x", Text: "Q8", Query: &wire.Query{Class: "E"}})
	wait("new root/x E Q8")
	ours.Close()
	if err := <-done; err != nil {
		t.Fatalf("ServeConn: %v", err)
	}
	wait("cancel Q8")
	if err := p.Raise("", Instance{"__CLASS": "E"}); !errors.Is(err, ErrNotServing) {
		t.Fatalf("Raise after the wire closed: %v", err)
	}
}
