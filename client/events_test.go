package client

import (
	"strings"
	"testing"

	"github.com/wbemd/wbemd/cim"
)

// FuzzReadStream: any bytes read as an event stream end with an error
// (the stream's own, or WBEM_E_TRANSPORT_FAILURE at its end), without a
// panic; every message has an event or data.
func FuzzReadStream(f *testing.F) {
	f.Add("id: 9.0\nevent: __InstanceCreationEvent\ndata: {\"__CLASS\":\"__InstanceCreationEvent\"}\n\nid: 9\nevent: progress\ndata: {\"revision\":9}\n\n")
	f.Add("event: error\ndata: {\"status\":2147749985,\"name\":\"WBEM_E_QUEUE_OVERFLOW\",\"message\":\"gone\",\"oldest\":12}\n\n")
	f.Add(": comment\r\ndata: a\r\ndata: b\r\n\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		err := readStream(strings.NewReader(s), func(m StreamEvent) bool {
			if m.Event == "" && m.Data == nil {
				t.Fatalf("empty message %+v", m)
			}
			return true
		})
		if cim.StatusOf(err) == 0 {
			t.Fatalf("readStream ended with %v", err)
		}
	})
}

// TestReadStream: messages, then the error message with the oldest
// revision held.
func TestReadStream(t *testing.T) {
	var got []StreamEvent
	err := readStream(strings.NewReader("id: 9.0\nevent: __InstanceCreationEvent\ndata: {}\n\nid: 9\nevent: progress\ndata: {\"revision\":9}\n\nevent: error\ndata: {\"status\":2147749985,\"name\":\"WBEM_E_QUEUE_OVERFLOW\",\"message\":\"gone\",\"oldest\":12}\n\n"),
		func(m StreamEvent) bool { got = append(got, m); return true })
	if len(got) != 2 || got[0].ID != "9.0" || got[0].Rev() != 9 || got[1].Event != "progress" {
		t.Fatalf("messages %+v", got)
	}
	if cim.StatusOf(err) != cim.EQueueOverflow || !strings.Contains(err.Error(), "gone") {
		t.Fatalf("error %v", err)
	}
}
