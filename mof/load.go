package mof

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Unit is a set of MOF files read and parsed with everything they include,
// ready to compile: its declarations are in compile order, includes
// expanded where they stand.
type Unit struct {
	Files []string // every file read, in the order first read
	Bytes int64    // their total size
	items []item
}

type item struct {
	decl Decl
	end  int64 // bytes of the unit read when this declaration is done, for progress
}

// maxIncludeDepth bounds nested includes.
const maxIncludeDepth = 32

// Load reads and parses the files in order, with the files they include
// (#pragma include("f") and #include "f"; a relative name is looked up
// next to the including file, then in includePaths). readFile is
// os.ReadFile when nil. It returns every syntax error of every file; a
// unit with errors must not be compiled.
func Load(files []string, includePaths []string, readFile func(string) ([]byte, error)) (*Unit, []*Error) {
	if readFile == nil {
		readFile = os.ReadFile
	}
	l := &loader{u: &Unit{}, includePaths: includePaths, readFile: readFile, open: map[string]bool{}}
	for _, f := range files {
		if len(l.errs) >= MaxErrors {
			break
		}
		data, err := readFile(f)
		if err != nil {
			l.errs = append(l.errs, &Error{Pos: Pos{File: f}, Msg: "cannot read: " + describeIOError(err)})
			continue
		}
		l.file(f, data, 0)
	}
	return l.u, l.errs
}

func describeIOError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

type loader struct {
	u            *Unit
	includePaths []string
	readFile     func(string) ([]byte, error)
	open         map[string]bool // files being read (include cycles)
	errs         []*Error
}

func (l *loader) file(name string, data []byte, depth int) {
	l.u.Files = append(l.u.Files, name)
	l.u.Bytes += int64(len(data))
	f, errs := Parse(name, string(data))
	l.errs = append(l.errs, errs...)
	clean := filepath.Clean(name)
	l.open[clean] = true
	defer delete(l.open, clean)
	for _, d := range f.Decls {
		if pr, ok := d.(*Pragma); ok && pr.Name == "include" {
			l.include(name, pr, depth)
			continue
		}
		l.u.items = append(l.u.items, item{decl: d, end: l.u.Bytes})
	}
}

func (l *loader) include(from string, pr *Pragma, depth int) {
	if len(pr.Args) != 1 || pr.Args[0].Kind != ValueString {
		l.errs = append(l.errs, &Error{Pos: pr.At, Msg: "#pragma include takes one file name in quotes"})
		return
	}
	name := strings.ReplaceAll(pr.Args[0].Text, "\\", "/")
	if depth >= maxIncludeDepth {
		l.errs = append(l.errs, &Error{Pos: pr.At, Msg: sprintf("includes nest deeper than %d", maxIncludeDepth)})
		return
	}
	candidates := []string{name}
	if !filepath.IsAbs(name) {
		candidates = []string{filepath.Join(filepath.Dir(from), name)}
		for _, dir := range l.includePaths {
			candidates = append(candidates, filepath.Join(dir, name))
		}
	}
	for _, c := range candidates {
		data, err := l.readFile(c)
		if err != nil {
			continue
		}
		if l.open[filepath.Clean(c)] {
			l.errs = append(l.errs, &Error{Pos: pr.At, Msg: sprintf("%s includes itself", name)})
			return
		}
		l.file(c, data, depth+1)
		return
	}
	where := "next to " + filepath.Base(from)
	if len(l.includePaths) > 0 {
		where += " or in " + strings.Join(l.includePaths, ", ")
	}
	l.errs = append(l.errs, &Error{Pos: pr.Args[0].At, Msg: sprintf("include file %q not found %s", pr.Args[0].Text, where)})
}
