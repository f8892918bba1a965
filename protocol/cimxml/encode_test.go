package cimxml

import (
	"bytes"
	"math"
	"testing"

	"github.com/wbemd/wbemd/cim"
)

// TestIntegerValues: the VALUE of an integer of every width and sign,
// written without a string of its own, is what cim.FormatValue gives.
func TestIntegerValues(t *testing.T) {
	for _, v := range []cim.Value{
		{Type: cim.TypeSint8, V: int8(math.MinInt8)}, {Type: cim.TypeSint16, V: int16(-7)}, {Type: cim.TypeSint32, V: int32(math.MaxInt32)},
		{Type: cim.TypeSint64, V: int64(math.MinInt64)}, {Type: cim.TypeUint8, V: uint8(255)}, {Type: cim.TypeUint16, V: uint16(0)},
		{Type: cim.TypeUint32, V: uint32(4242)}, {Type: cim.TypeUint64, V: uint64(math.MaxUint64)},
		{Type: cim.TypeChar16, V: 'x'}, {Type: cim.TypeReal32, V: float32(1.5)},
	} {
		var b bytes.Buffer
		w := newWriter(&b)
		w.value(v)
		w.release()
		if want := "<VALUE>" + cim.FormatValue(v) + "</VALUE>"; b.String() != want {
			t.Errorf("%v: %s, want %s", v, b.String(), want)
		}
	}
}

// TestEscape: text and attribute values have the five characters XML
// reserves replaced, and nothing else.
func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		``:                    ``,
		`plain é 😀 text`:      `plain é 😀 text`,
		`<a href="x">'&'</a>`: `&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;`,
		`&&`:                  `&amp;&amp;`,
		"tab\tand\nnew line":  "tab\tand\nnew line",
	} {
		var b bytes.Buffer
		w := newWriter(&b)
		w.esc(in)
		w.release()
		if b.String() != want {
			t.Errorf("esc(%q) = %q, want %q", in, b.String(), want)
		}
	}
}
