package mof

import (
	"errors"
	"io"
)

// ParsePiece parses a piece of the file name that starts at line (the
// first line is 1) into a Unit of its declarations: the pieces Split cuts
// are parsed one at a time, so that a file of any size takes the memory
// of one piece. end is the byte offset in the file where the piece ends,
// for progress; total the file's size. #pragma include is an error in a
// piece (a streamed file includes nothing).
func ParsePiece(name, src string, line int, end, total int64) (*Unit, []*Error) {
	p := &parser{s: NewScanner(name, src)}
	p.s.line = line
	p.next()
	u := &Unit{Files: []string{name}, Bytes: total}
	for p.tok.Kind != EOF && len(p.errs) < MaxErrors {
		if d := p.decl(); d != nil {
			if pr, ok := d.(*Pragma); ok && pr.Name == "include" {
				p.errs = append(p.errs, &Error{Pos: pr.At, Msg: "#pragma include is not supported in a streamed compile"})
				continue
			}
			u.items = append(u.items, item{decl: d, end: end})
		}
	}
	errs := mergeErrors(p.s.Errors, p.errs)
	if len(errs) > MaxErrors {
		errs = errs[:MaxErrors]
	}
	return u, errs
}

// Piece is a run of whole top-level declarations of a MOF file.
type Piece struct {
	Text string
	Line int   // the line the piece starts at
	End  int64 // the byte offset in the file where it ends
}

// Split cuts MOF text into pieces of about size bytes (more when one
// declaration is longer), each ending after a ';' outside braces, strings,
// character constants and comments, and calls fn with each in order
// until fn returns an error. Split reads r once, holding one piece.
func Split(r io.Reader, size int, fn func(Piece) error) error {
	const (
		normal = iota
		inString
		inChar
		lineComment
		blockComment
	)
	state, depth, line := normal, 0, 1
	var buf []byte // the piece so far, up to the chunk's bytes from on
	chunk := make([]byte, 64<<10)
	start, off := 1, int64(0)
	var prev byte
	escaped := false
	for {
		n, rerr := r.Read(chunk)
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return rerr
		}
		from := 0
		for i, c := range chunk[:n] {
			if c == '\n' {
				line++
			}
			switch state {
			case normal:
				switch {
				case c == '"':
					state = inString
				case c == '\'':
					state = inChar
				case c == '/' && prev == '/':
					state = lineComment
				case c == '*' && prev == '/':
					state, c = blockComment, 0 // "/*/" does not end it
				case c == '{':
					depth++
				case c == '}':
					depth--
				case c == ';' && depth <= 0 && len(buf)+i+1-from >= size:
					buf = append(buf, chunk[from:i+1]...)
					from = i + 1
					if err := fn(Piece{Text: string(buf), Line: start, End: off + int64(i) + 1}); err != nil {
						return err
					}
					buf, start, depth = buf[:0], line, 0
				}
			case inString, inChar:
				quote := byte('"')
				if state == inChar {
					quote = '\''
				}
				switch {
				case escaped:
					escaped = false
				case c == '\\':
					escaped = true
				case c == quote || c == '\n':
					state = normal
				}
			case lineComment:
				if c == '\n' {
					state = normal
				}
			case blockComment:
				if c == '/' && prev == '*' {
					state, c = normal, 0
				}
			}
			prev = c
		}
		buf = append(buf, chunk[from:n]...)
		off += int64(n)
		if rerr != nil { // io.EOF
			break
		}
	}
	if len(buf) > 0 {
		return fn(Piece{Text: string(buf), Line: start, End: off})
	}
	return nil
}
