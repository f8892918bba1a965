package store

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestCheckTxn(t *testing.T) {
	l := Limits{MaxOps: 3, MaxBytes: 20, MaxKeyBytes: 5}
	k := func(s string) []byte { return []byte(s) }
	cases := []struct {
		name string
		cmps []Compare
		ops  []Op
		want error  // nil, ErrInvalidTxn or ErrTxnTooLarge
		msg  string // part of the message
	}{
		{"empty", nil, nil, nil, ""},
		{"at every limit", []Compare{{Key: k("a")}, Absent(nil, k("b")), {Key: k("c"), ModRev: 4}},
			[]Op{Put(k("kkkkk"), k("123456")), Delete(k("d")), DeleteRange(nil, nil)}, nil, ""},
		{"too many ops", nil, []Op{Put(k("a"), nil), Put(k("b"), nil), Put(k("c"), nil), Put(k("d"), nil)}, ErrTxnTooLarge, "4 ops, limit 3"},
		{"too many compares", []Compare{{Key: k("a")}, {Key: k("b")}, {Key: k("c")}, {Key: k("d")}}, nil, ErrTxnTooLarge, "4 compares, limit 3"},
		{"too many bytes", nil, []Op{Put(k("a"), bytes.Repeat(k("v"), 20))}, ErrTxnTooLarge, "21 bytes, limit 20"},
		{"compare keys count as bytes", []Compare{{Key: k("aaaaa")}, {Key: k("bbbbb")}, Absent(k("ccccc"), k("ddddd"))}, []Op{Put(k("e"), nil)}, ErrTxnTooLarge, "21 bytes, limit 20"},
		{"long key", nil, []Op{Delete(k("a")), Put(k("kkkkkk"), nil)}, ErrTxnTooLarge, "op 1: key of 6 bytes, limit 5"},
		{"long range end", nil, []Op{DeleteRange(k("a"), k("zzzzzz"))}, ErrTxnTooLarge, "op 0: key of 6 bytes"},
		{"long compared key", []Compare{{Key: k("kkkkkk")}}, nil, ErrTxnTooLarge, "compare 0: key of 6 bytes"},
		{"unknown kind", nil, []Op{Put(k("a"), nil), {Kind: 7, Key: k("b")}}, ErrInvalidTxn, "op 1: unknown op kind 7"},
		{"empty put key", nil, []Op{Put(nil, nil)}, ErrInvalidTxn, "op 0: empty key"},
		{"empty delete key", nil, []Op{Delete(k(""))}, ErrInvalidTxn, "op 0: empty key"},
		{"end on a put", nil, []Op{{Kind: OpPut, Key: k("a"), End: k("b")}}, ErrInvalidTxn, "range end on a put"},
		{"reversed range", nil, []Op{DeleteRange(k("b"), k("a"))}, ErrInvalidTxn, `range end "a" is not after its start "b"`},
		{"empty range", nil, []Op{DeleteRange(k("b"), k("b"))}, ErrInvalidTxn, "not after its start"},
		{"empty non-nil end", nil, []Op{DeleteRange(nil, k(""))}, ErrInvalidTxn, "not after its start"},
		{"empty compare key", []Compare{{}}, nil, ErrInvalidTxn, "compare 0: empty key"},
		{"negative ModRev", []Compare{{Key: k("a"), ModRev: -2}}, nil, ErrInvalidTxn, "negative ModRev -2"},
		{"reversed absent", []Compare{Absent(k("b"), k("a"))}, nil, ErrInvalidTxn, "not after its start"},
		{"range compare with ModRev", []Compare{{Key: k("a"), End: k("b"), ModRev: 3}}, nil, ErrInvalidTxn, "needs ModRev 0"},
		{"long key in an error", nil, []Op{DeleteRange(bytes.Repeat(k("z"), 100), k("a"))}, ErrInvalidTxn, "... (100 bytes)"},
	}
	for _, c := range cases {
		lim := l
		if c.name == "long key in an error" {
			lim = Limits{}
		}
		err := CheckTxn(lim, c.cmps, c.ops)
		switch {
		case c.want == nil && err != nil:
			t.Errorf("%s: %v, want nil", c.name, err)
		case c.want != nil && (!errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg)):
			t.Errorf("%s: %v, want %v with %q", c.name, err, c.want, c.msg)
		}
	}
	if err := CheckTxn(Limits{}, nil, []Op{Put(bytes.Repeat(k("k"), 1<<16), make([]byte, 1<<20))}); err != nil {
		t.Errorf("zero limits limit nothing: %v", err)
	}
}

func TestAbsentPrefix(t *testing.T) {
	c := AbsentPrefix([]byte("ns/c/"))
	if string(c.Key) != "ns/c/" || string(c.End) != "ns/c0" || c.ModRev != 0 {
		t.Fatalf("AbsentPrefix = %+v", c)
	}
}
