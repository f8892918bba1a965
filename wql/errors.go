package wql

import (
	"fmt"
	"sort"
	"strings"

	"github.com/wbemd/wbemd/cim"
)

// Error is a query error with its WBEM status and position.
type Error struct {
	Pos    Pos
	Status cim.Status
	Msg    string
}

// Error formats the error as "line:col: message (status)".
func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s (%s)", e.Pos, e.Msg, e.Status)
}

// CIMError returns the error as a *cim.Error whose description carries the
// position.
func (e *Error) CIMError() *cim.Error {
	return &cim.Error{Status: e.Status, Description: e.Pos.String() + ": " + e.Msg, Err: e}
}

// ErrorList is a list of query errors, as go/scanner's: it sorts by
// position, and as an error it says every one of them.
type ErrorList []*Error

// Add appends an error at pos with status st.
func (l *ErrorList) Add(pos Pos, st cim.Status, msg string) {
	*l = append(*l, &Error{Pos: pos, Status: st, Msg: msg})
}

// Len is the number of errors.
func (l ErrorList) Len() int { return len(l) }

// Swap exchanges two errors.
func (l ErrorList) Swap(i, j int) { l[i], l[j] = l[j], l[i] }

// Less orders errors by line, then column, then message.
func (l ErrorList) Less(i, j int) bool {
	a, b := l[i], l[j]
	if a.Pos.Line != b.Pos.Line {
		return a.Pos.Line < b.Pos.Line
	}
	if a.Pos.Col != b.Pos.Col {
		return a.Pos.Col < b.Pos.Col
	}
	return a.Msg < b.Msg
}

// Sort sorts the list by position.
func (l ErrorList) Sort() { sort.Sort(l) }

// Error joins the errors with "; ".
func (l ErrorList) Error() string {
	if len(l) == 0 {
		return "no errors"
	}
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Unwrap returns the errors, for errors.Is and errors.As.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// Err returns nil for an empty list, its only error for a list of one
// (so that a caller sees the *Error with its status and position), and
// the list, sorted, otherwise.
func (l ErrorList) Err() error {
	switch len(l) {
	case 0:
		return nil
	case 1:
		return l[0]
	}
	l.Sort()
	return l
}

// CIMError returns the list as a *cim.Error: the status of its first
// error (by position), the description of all.
func (l ErrorList) CIMError() *cim.Error {
	if len(l) == 0 {
		return nil
	}
	l.Sort()
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Pos.String() + ": " + e.Msg
	}
	return &cim.Error{Status: l[0].Status, Description: strings.Join(parts, "; "), Err: l}
}
