package wql

import (
	"errors"
	"testing"

	"github.com/wbemd/wbemd/cim"
)

// TestErrorList: errors sort by position, join in Error, and Err gives
// nil, the only *Error, or the sorted list; errors.As reaches an *Error
// inside a list; Parse's error is the *Error of its list.
func TestErrorList(t *testing.T) {
	var l ErrorList
	if l.Err() != nil || l.Error() != "no errors" {
		t.Errorf("empty list: %v %q", l.Err(), l.Error())
	}
	l.Add(Pos{2, 1}, cim.EInvalidQuery, "late")
	if e, ok := l.Err().(*Error); !ok || e.Msg != "late" {
		t.Errorf("one error: %#v", l.Err())
	}
	l.Add(Pos{1, 9}, cim.EInvalidProperty, "b")
	l.Add(Pos{1, 9}, cim.EInvalidQuery, "a")
	l.Add(Pos{1, 3}, cim.EQuotaViolation, "first")
	err := l.Err()
	want := "1:3: first (WBEM_E_QUOTA_VIOLATION); 1:9: a (WBEM_E_INVALID_QUERY); 1:9: b (WBEM_E_INVALID_PROPERTY); 2:1: late (WBEM_E_INVALID_QUERY)"
	if err.Error() != want {
		t.Errorf("Error():\n got %s\nwant %s", err, want)
	}
	var e *Error
	if !errors.As(err, &e) || e.Msg != "first" {
		t.Errorf("errors.As found %v", e)
	}
	if c := l.CIMError(); c.Status != cim.EQuotaViolation || c.Description != "1:3: first; 1:9: a; 1:9: b; 2:1: late" {
		t.Errorf("CIMError: %v", c)
	}
	_, err = Parse("SELECT * FROM")
	if e, ok := err.(*Error); !ok || e.Pos != (Pos{1, 14}) || e.Status != cim.EInvalidQuery {
		t.Errorf("Parse error: %#v", err)
	}
}
