package cimxml

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// limited fails once it has taken n bytes.
type limited struct {
	bytes.Buffer
	n int
}

func (l *limited) Write(p []byte) (int, error) {
	if l.Len()+len(p) > l.n {
		return 0, errors.New("full")
	}
	return l.Buffer.Write(p)
}

// TestOutbuf: what is written in pieces of any size arrives whole and in
// order, through buffers smaller than the pieces; the first error of the
// destination is kept and ends the writing.
func TestOutbuf(t *testing.T) {
	var want strings.Builder
	var dst bytes.Buffer
	b := newOutbuf(&dst, 7)
	for i := 0; i < 200; i++ {
		piece := strings.Repeat(string(rune('a'+i%26)), i%19)
		switch i % 3 {
		case 0:
			b.writeString(piece)
		case 1:
			if n, err := b.Write([]byte(piece)); n != len(piece) || err != nil {
				t.Fatalf("Write: %d, %v", n, err)
			}
		case 2:
			b.writeByte('|')
			piece = "|"
		}
		want.WriteString(piece)
	}
	if err := b.Flush(); err != nil || dst.String() != want.String() {
		t.Fatalf("got %q, %v; want %q", dst.String(), err, want.String())
	}
	l := &limited{n: 10}
	b.Reset(l)
	b.writeString(strings.Repeat("x", 30))
	if err := b.Flush(); err == nil || l.Len() > 10 {
		t.Errorf("a full destination: %v, %d bytes taken", err, l.Len())
	}
	if _, err := b.Write([]byte("y")); err == nil {
		t.Error("a write after the error succeeded")
	}
}
