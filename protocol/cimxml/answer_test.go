package cimxml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/wbemd/wbemd/cim"
)

// counted counts the calls of Close.
type counted struct {
	io.Reader
	closed int
}

func (c *counted) Close() error { c.closed++; return nil }

// transcript reads an answer to doc, held whole or streamed (a byte at a
// time when n is odd, half of what is asked otherwise), and writes what a client gets: the error of the head, or each
// result with what it decodes to, then how the answer ends. It returns the
// names of the results too.
func transcript(t *testing.T, doc []byte, intrinsic bool, streamed bool, n int) (string, []string) {
	t.Helper()
	body := &counted{Reader: iotest.HalfReader(bytes.NewReader(doc))}
	if n%2 == 1 {
		body.Reader = iotest.OneByteReader(bytes.NewReader(doc))
	}
	size := int64(len(doc))
	if streamed {
		size = -1
	}
	var b strings.Builder
	var names []string
	defer func() {
		if body.closed != 1 {
			t.Fatalf("the body was closed %d times", body.closed)
		}
	}()
	a, err := ReadAnswer(body, size, intrinsic)
	if err != nil {
		fmt.Fprintf(&b, "head: %v", err)
		return b.String(), nil
	}
	defer a.Close()
	for {
		el, err := a.Next()
		if err != nil {
			fmt.Fprintf(&b, "end: %v", err)
			if errors.Is(err, io.EOF) {
				return b.String(), names
			}
			return b.String(), nil
		}
		names = append(names, el.Name())
		fmt.Fprintf(&b, "<%s>", el.Name())
		show := func(o any, err error) {
			if err != nil {
				fmt.Fprintf(&b, " error %v;", err)
			} else if obj, ok := o.(*cim.Object); ok {
				fmt.Fprintf(&b, " %s %d properties;", obj.Class, len(obj.Properties))
			} else {
				fmt.Fprintf(&b, " %v;", o)
			}
		}
		if in := el.Kid("INSTANCE"); in != nil {
			show(in.Instance())
		}
		if cl := el.Kid("CLASS"); cl != nil {
			show(cl.Class())
		}
		switch el.Name() {
		case "INSTANCE":
			show(el.Instance())
		case "CLASS":
			show(el.Class())
		case "INSTANCENAME":
			show(el.InstanceName())
		case "QUALIFIER.DECLARATION":
			show(el.QualifierDecl())
		case "RETURNVALUE", "PARAMVALUE":
			p, err := el.OutParam()
			show(p.Value, err)
		}
	}
}

// oldResults is what the client read from the answer with the whole
// document's tree: the names of the results, or false when it had none
// to read (an ERROR, no response).
func oldResults(doc []byte, intrinsic bool) ([]string, bool) {
	root, err := parseBytes(doc)
	if err != nil {
		return nil, false
	}
	kind := "IMETHODRESPONSE"
	if !intrinsic {
		kind = "METHODRESPONSE"
	}
	var mr *node
	if msg := root.kid("MESSAGE"); msg != nil {
		if sr := msg.kid("SIMPLERSP"); sr != nil {
			mr = sr.kid(kind)
		}
	}
	if mr == nil || mr.kid("ERROR") != nil {
		return nil, false
	}
	parent := mr
	if intrinsic {
		if parent = mr.kid("IRETURNVALUE"); parent == nil {
			return []string{}, true
		}
	}
	names := []string{}
	for _, k := range parent.kids {
		names = append(names, k.name)
	}
	return names, true
}

// checkAnswer reads doc held whole and streamed: the client gets the same
// either way, and the results the whole document's tree had.
func checkAnswer(t *testing.T, doc []byte, n int) {
	t.Helper()
	for _, intrinsic := range []bool{true, false} {
		whole, names := transcript(t, doc, intrinsic, false, n)
		streamed, _ := transcript(t, doc, intrinsic, true, n)
		if whole != streamed {
			t.Fatalf("%q read whole and streamed (%d) differ:\nwhole    %s\nstreamed %s", doc, n, whole, streamed)
		}
		if old, ok := oldResults(doc, intrinsic); ok && names != nil && fmt.Sprint(old) != fmt.Sprint(names) {
			t.Fatalf("%q: results %v, the tree had %v", doc, names, old)
		}
	}
}

const answerHead = `<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLERSP>`

var answerSeeds = []string{
	answerHead + `<IMETHODRESPONSE NAME="EnumerateInstances"><IRETURNVALUE><VALUE.NAMEDINSTANCE><INSTANCENAME CLASSNAME="A"><KEYBINDING NAME="K"><KEYVALUE VALUETYPE="string">a</KEYVALUE></KEYBINDING></INSTANCENAME><INSTANCE CLASSNAME="A"><PROPERTY NAME="K" TYPE="string"><VALUE>a &amp; b</VALUE></PROPERTY></INSTANCE></VALUE.NAMEDINSTANCE><VALUE.OBJECTWITHPATH><CLASS NAME="B"><PROPERTY NAME="P" TYPE="uint8" PROPAGATED="true"/></CLASS></VALUE.OBJECTWITHPATH></IRETURNVALUE></IMETHODRESPONSE></SIMPLERSP></MESSAGE></CIM>`,
	answerHead + `<IMETHODRESPONSE NAME="GetClass"><ERROR CODE="6" DESCRIPTION="WBEM_E_NOT_FOUND: no such class"/></IMETHODRESPONSE></SIMPLERSP></MESSAGE></CIM>`,
	answerHead + `<IMETHODRESPONSE NAME="CreateInstance"><IRETURNVALUE><INSTANCENAME CLASSNAME="A"/></IRETURNVALUE><ERROR CODE="1" DESCRIPTION="late"/></IMETHODRESPONSE></SIMPLERSP></MESSAGE></CIM>`,
	answerHead + `<METHODRESPONSE NAME="Spin"><RETURNVALUE PARAMTYPE="uint32"><VALUE>1</VALUE></RETURNVALUE><PARAMVALUE NAME="Out" PARAMTYPE="string"><VALUE.ARRAY><VALUE>x</VALUE></VALUE.ARRAY></PARAMVALUE></METHODRESPONSE></SIMPLERSP></MESSAGE></CIM>`,
	answerHead + `<IMETHODRESPONSE NAME="EnumerateQualifiers"><IRETURNVALUE><QUALIFIER.DECLARATION NAME="Key" TYPE="boolean"><SCOPE PROPERTY="true"/><VALUE>FALSE</VALUE></QUALIFIER.DECLARATION></IRETURNVALUE></IMETHODRESPONSE></SIMPLERSP></MESSAGE></CIM>`,
	answerHead + `<IMETHODRESPONSE NAME="DeleteInstance"/></SIMPLERSP></MESSAGE></CIM>`,
	`<CIM><MESSAGE><SIMPLERSP><IMETHODRESPONSE><IRETURNVALUE><INSTANCE CLASSNAME="A">`,
}

// TestAnswer reads answers of each shape, held whole and streamed.
func TestAnswer(t *testing.T) {
	for _, doc := range answerSeeds {
		for _, n := range []int{1, 7, 1 << 20} {
			checkAnswer(t, []byte(doc), n)
		}
	}
	got, _ := transcript(t, []byte(answerSeeds[0]), true, true, 3)
	if want := `<VALUE.NAMEDINSTANCE> A 1 properties;<VALUE.OBJECTWITHPATH> B 1 properties;end: EOF`; got != want {
		t.Errorf("an enumeration: %s, want %s", got, want)
	}
	got, _ = transcript(t, []byte(answerSeeds[1]), true, true, 3)
	if want := `head: WBEM_E_NOT_FOUND`; !strings.HasPrefix(got, want) {
		t.Errorf("an ERROR: %s, want %s", got, want)
	}
	got, _ = transcript(t, []byte(answerSeeds[2]), true, true, 3)
	if want := `<INSTANCENAME> A=@;end: WBEM_E_FAILED (0x80041001): late`; got != want {
		t.Errorf("an ERROR after the results: %s, want %s", got, want)
	}
	got, _ = transcript(t, []byte(answerSeeds[len(answerSeeds)-1]), true, true, 3)
	if want := `end: WBEM_E_TRANSPORT_FAILURE`; !strings.Contains(got, want) || !strings.Contains(got, "line 1, column") {
		t.Errorf("a broken answer: %s, want %s with its position", got, want)
	}
	got, _ = transcript(t, []byte(answerHead+`<METHODRESPONSE/></SIMPLERSP></MESSAGE></CIM>`), true, true, 3)
	if want := `no IMETHODRESPONSE`; !strings.Contains(got, want) {
		t.Errorf("no response: %s, want %s", got, want)
	}
}

// TestAnswerBounds: a streamed answer holds one result at a time, and a
// result past maxResult is refused.
func TestAnswerBounds(t *testing.T) {
	var doc bytes.Buffer
	doc.WriteString(answerHead + `<IMETHODRESPONSE NAME="EnumerateInstances"><IRETURNVALUE>`)
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&doc, `<VALUE.NAMEDINSTANCE><INSTANCE CLASSNAME="A"><PROPERTY NAME="K" TYPE="string"><VALUE>%d %s</VALUE></PROPERTY></INSTANCE></VALUE.NAMEDINSTANCE>`, i, strings.Repeat("v", 500))
	}
	doc.WriteString(`</IRETURNVALUE></IMETHODRESPONSE></SIMPLERSP></MESSAGE></CIM>`)
	a, err := ReadAnswer(io.NopCloser(bytes.NewReader(doc.Bytes())), -1, true)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	held := cap(a.b.nodes)
	for n := 0; ; n++ {
		if _, err := a.Next(); err != nil {
			if !errors.Is(err, io.EOF) || n != 2000 {
				t.Fatalf("after %d results: %v", n, err)
			}
			break
		}
		if cap(a.b.nodes) > held {
			t.Fatalf("after %d results of 4 elements, %d nodes held (%d at first)", n, cap(a.b.nodes), held)
		}
	}
	var big bytes.Buffer
	big.WriteString(answerHead + `<IMETHODRESPONSE NAME="GetInstance"><IRETURNVALUE><INSTANCE CLASSNAME="A">`)
	for big.Len() < maxResult+1<<20 {
		big.WriteString(`<PROPERTY NAME="K" TYPE="string"><VALUE>` + strings.Repeat("v", 4000) + `</VALUE></PROPERTY>`)
	}
	a, err = ReadAnswer(io.NopCloser(bytes.NewReader(big.Bytes())), -1, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Next(); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a result past maxResult: %v", err)
	}
}

// FuzzReadAnswer: any answer, held whole or streamed in small reads,
// gives a client the same results and errors, never a panic, and the
// results the whole document's tree had.
func FuzzReadAnswer(f *testing.F) {
	for _, s := range answerSeeds {
		f.Add([]byte(s), uint8(5))
	}
	f.Fuzz(func(t *testing.T, doc []byte, n uint8) {
		checkAnswer(t, doc, int(n)%8+1)
	})
}
