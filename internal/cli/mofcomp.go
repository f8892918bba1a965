package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/mof"
)

// exitError ends wbem with a given status after its message was printed.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// errDiscard ends a --check batch: everything it wrote is dropped.
var errDiscard = errors.New("check only")

func (a *app) mofcompCommand() *cobra.Command {
	var includes []string
	var check, strict, noAtomic, stream bool
	var classMode, instanceMode string
	c := &cobra.Command{
		Use:   "mofcomp FILE...",
		Short: "Compile MOF files into the repository",
		Long: `Compile MOF files (CIM 2.x MOF as DSP0004 defines it and WMI's mofcomp accepts it)
into the namespace of -n, or the one a #pragma namespace names. A compile is atomic:
if any declaration fails, nothing is written (--no-atomic applies each declaration
that succeeds, as mofcomp does). Diagnostics are file:line:col: message (STATUS).
Exit status 3 for syntax errors, 1 for semantic ones.

Through --url, or into a repository a running wbemd serves (through its local
socket), the declarations are operations on the server, one by one: such a compile
cannot be atomic and needs --no-atomic (syntax errors still stop it before any write).

--stream compiles files of any size in bounded memory: each file is read and parsed
in pieces of about 512 KiB of whole declarations, and each piece commits in one
transaction of its own. The compile stops at the first piece with an error, which
writes nothing; the pieces before it stay written (the message says up to which
line). Streamed files may not #pragma include.`,
		Args: args(1, -1, "one or more MOF files"),
		RunE: func(cmd *cobra.Command, files []string) error {
			ctx := cmd.Context()
			opts := mof.Options{Namespace: a.namespace, Strict: strict}
			var err error
			if opts.ClassFlags, err = modeFlags("--class", classMode, map[string]cimom.Flags{"createonly": cimom.FlagCreateOnly,
				"updateonly": cimom.FlagUpdateOnly, "safeupdate": cimom.FlagUpdateSafeMode, "forceupdate": cimom.FlagUpdateForceMode}); err != nil {
				return err
			}
			if opts.InstanceFlags, err = modeFlags("--instance", instanceMode, map[string]cimom.Flags{"createonly": cimom.FlagCreateOnly,
				"updateonly": cimom.FlagUpdateOnly}); err != nil {
				return err
			}
			if check && noAtomic {
				return usagef("--check and --no-atomic exclude each other")
			}
			start := time.Now()
			if stream {
				switch {
				case a.url != "" || a.socket() != "":
					return usagef("--stream needs the repository itself (not --url, nor a repository a running wbemd serves)")
				case check || noAtomic:
					return usagef("--stream commits piece by piece: it excludes --check and --no-atomic")
				}
				return a.mofcompStream(cmd, files, opts, start)
			}
			unit, errs := mof.Load(files, includes, nil)
			if len(errs) > 0 {
				return a.reportMOF(errs, 3, "syntax")
			}
			if a.url != "" || a.socket() != "" {
				return a.mofcompRemote(cmd, unit, opts, start, check, noAtomic)
			}
			om, err := a.open(ctx)
			if err != nil {
				return err
			}
			bar := newProgress(a.stderr, start)
			opts.Progress = bar.update
			var sum mof.Summary
			run := func(om *cimom.CIMOM) error {
				root, err := om.Connect(ctx, a.namespace, localPrincipal())
				if err != nil {
					return err
				}
				sum, errs = mof.Compile(ctx, root, unit, opts)
				if len(errs) > 0 {
					return errDiscard
				}
				if check {
					return errDiscard
				}
				return nil
			}
			if noAtomic {
				err = run(om)
			} else {
				err = om.Batch(ctx, run)
			}
			bar.done()
			if len(errs) > 0 {
				what := "nothing was written"
				if noAtomic {
					what = "the declarations without errors were written"
				}
				return a.reportMOF(errs, 1, what)
			}
			if err != nil && !errors.Is(err, errDiscard) {
				return err
			}
			verb := "compiled"
			if check {
				verb = "checked (nothing written)"
			}
			a.printSummary(verb, unit, sum, start)
			return nil
		},
	}
	f := c.Flags()
	f.StringArrayVarP(&includes, "include", "I", nil, "directory to search for included files (repeatable)")
	f.BoolVar(&check, "check", false, "parse and check everything, write nothing")
	f.BoolVar(&strict, "strict", false, "DSP0004 rules: every qualifier needs a declaration")
	f.BoolVar(&noAtomic, "no-atomic", false, "write each declaration that succeeds, as mofcomp does")
	f.BoolVar(&stream, "stream", false, "compile in pieces of about 512 KiB, each in a transaction of its own, in bounded memory")
	f.StringVar(&classMode, "class", "", "class write mode: createonly, updateonly, safeupdate or forceupdate")
	f.StringVar(&instanceMode, "instance", "", "instance write mode: createonly or updateonly")
	return c
}

func modeFlags(flag, mode string, words map[string]cimom.Flags) (cimom.Flags, error) {
	if mode == "" {
		return 0, nil
	}
	f, ok := words[strings.ToLower(mode)]
	if !ok {
		return 0, usagef("%s: unknown mode %q", flag, mode)
	}
	return f, nil
}

// reportMOF prints diagnostics and returns the exit error.
func (a *app) reportMOF(errs []*mof.Error, code int, what string) error {
	for _, e := range errs {
		fmt.Fprintln(a.stderr, e.Error())
	}
	kind := "error"
	if len(errs) > 1 {
		kind = "errors"
	}
	if code == 3 {
		return &exitError{code: code, msg: fmt.Sprintf("%d %s %s; nothing was written", len(errs), what, kind)}
	}
	return &exitError{code: code, msg: fmt.Sprintf("%d %s; %s", len(errs), kind, what)}
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// progress draws a bar on a terminal once a compile has run for a second.
type progress struct {
	w     io.Writer
	tty   bool
	start time.Time
	last  time.Time
	shown bool
}

func newProgress(w io.Writer, start time.Time) *progress {
	p := &progress{w: w, start: start}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) update(done, total int64) {
	if !p.tty || total == 0 {
		return
	}
	now := time.Now()
	if now.Sub(p.start) < time.Second || now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last, p.shown = now, true
	const width = 30
	n := int(done * width / total)
	fmt.Fprintf(p.w, "\r[%s%s] %3d%% %s / %s", strings.Repeat("=", n), strings.Repeat(" ", width-n), done*100/total, sizeText(done), sizeText(total))
}

func (p *progress) done() {
	if p.shown {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", 60))
	}
}

// mofcompRemote compiles a loaded unit through a server (--url, or the
// socket of a wbemd serving --repo): every declaration is one operation,
// so the compile is --no-atomic by necessity.
func (a *app) mofcompRemote(cmd *cobra.Command, unit *mof.Unit, opts mof.Options, start time.Time, check, noAtomic bool) error {
	switch {
	case check:
		return usagef("--check needs the repository itself: a server cannot try declarations without writing them")
	case !noAtomic:
		return usagef("a compile through a server cannot be atomic: add --no-atomic to write each declaration that succeeds")
	}
	svc, err := a.services(cmd.Context())
	if err != nil {
		return err
	}
	bar := newProgress(a.stderr, start)
	opts.Progress = bar.update
	sum, errs := mof.Compile(cmd.Context(), svc, unit, opts)
	bar.done()
	if len(errs) > 0 {
		return a.reportMOF(errs, 1, "the declarations without errors were written")
	}
	a.printSummary("compiled", unit, sum, start)
	return nil
}

// printSummary prints what a compile did.
func (a *app) printSummary(verb string, unit *mof.Unit, sum mof.Summary, start time.Time) {
	fmt.Fprintf(a.stdout, "%s %d file(s), %s in %s: classes %d created, %d updated; instances %d created, %d updated; qualifiers %d created, %d updated",
		verb, len(unit.Files), sizeText(unit.Bytes), time.Since(start).Round(time.Millisecond),
		sum.ClassesCreated, sum.ClassesUpdated, sum.InstancesCreated, sum.InstancesUpdated, sum.QualifiersCreated, sum.QualifiersUpdated)
	if sum.ClassesDeleted+sum.InstancesDeleted > 0 {
		fmt.Fprintf(a.stdout, "; deleted %d classes, %d instances", sum.ClassesDeleted, sum.InstancesDeleted)
	}
	fmt.Fprintln(a.stdout)
}

// streamPiece is the size of the pieces of a --stream compile. The pieces
// in flight make most of the heap: 100,000 instances of 200 bytes took
// 1.70-1.82 s of CPU and 109-116 MiB of RSS at 512 KiB, 1.75-1.84 s and
// 77-91 MiB at 256 KiB, 1.82-1.98 s and 170-172 MiB at 1 MiB, and 3.1-3.5 s
// at 2 MiB (the heap at the memory limit, the collector running all along).
const streamPiece = 512 << 10

// errStopStream ends a --stream compile at a piece with errors.
var errStopStream = errors.New("stop")

// parsedPiece is a piece of a --stream compile, parsed ahead of its
// compile.
type parsedPiece struct {
	name    string
	unit    *mof.Unit
	errs    []*mof.Error
	endLine int
}

func (p parsedPiece) upTo() string { return fmt.Sprintf("%s up to line %d", p.name, p.endLine) }

// streamAhead is how many parsed pieces wait in the channel for their
// compile: with none, the next piece is read and parsed (on another core)
// while one compiles, and at most two parsed pieces wait.
const streamAhead = 0

// streamMemoryLimit is the Go memory limit of a --stream compile unless
// $GOMEMLIMIT sets one (runtime/debug.SetMemoryLimit).
const streamMemoryLimit = 160 << 20

// streamWrite is the bulk write of a piece of plain instances, running
// while the next piece compiles.
type streamWrite struct {
	piece parsedPiece
	mark  mof.Mark // the session before the piece
	done  chan error
}

// mofcompStream compiles files piece by piece (mof.Split), each piece in
// one transaction, with one mof.Session: memory is that of a few pieces
// and of the session's state, whatever the files' size. Pieces are read
// and parsed ahead of their compile. The instances of a piece of plain
// instances are built without writes (mof.Session.BuildInstances) and
// written in one PutInstances transaction while the next piece builds;
// any other piece, or a plain one whose write fails (to name its error),
// compiles in a Batch once the write before it is done.
func (a *app) mofcompStream(cmd *cobra.Command, files []string, opts mof.Options, start time.Time) error {
	ctx := cmd.Context()
	var total int64
	for _, name := range files {
		fi, err := os.Stat(name)
		if err != nil {
			return fmt.Errorf("mofcomp: %w", err)
		}
		total += fi.Size()
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// The pieces in flight make most of the heap (about 100 MiB);
		// the soft limit bounds it whatever the instances' size (the
		// collector works harder near it).
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(streamMemoryLimit))
	}
	om, err := a.open(ctx)
	if err != nil {
		return err
	}
	base, err := om.Connect(ctx, a.namespace, localPrincipal())
	if err != nil {
		return err
	}
	bar := newProgress(a.stderr, start)
	opts.Progress = bar.update
	sess := mof.NewSession(ctx, opts)
	pieces := make(chan parsedPiece, streamAhead)
	readCtx, stopReading := context.WithCancel(ctx)
	readErr := make(chan error, 1)
	go func() {
		defer close(pieces)
		readErr <- streamParse(readCtx, files, total, pieces)
	}()
	var inflight *streamWrite
	defer func() {
		stopReading()
		for range pieces { // let the reader end
		}
		if inflight != nil {
			<-inflight.done
		}
	}()
	var errs []*mof.Error
	code, writtenTo := 0, ""
	// batch compiles a piece in a Batch; errs are its errors.
	batch := func(p parsedPiece) error {
		return om.Batch(ctx, func(view *cimom.CIMOM) error {
			root, err := view.Connect(ctx, a.namespace, localPrincipal())
			if err != nil {
				return err
			}
			// Plain instances go through the bulk path (checks on
			// every core, no reads for instances that are new).
			sess.Bulk = func(ctx context.Context, ns string, insts []*cim.Object) error {
				_, err := view.PutInstances(ctx, ns, localPrincipal(), insts, cimom.FlagCreateOnly)
				return err
			}
			defer func() { sess.Bulk = nil }()
			if errs = sess.Compile(root, p.unit); len(errs) > 0 {
				return errDiscard
			}
			return nil
		})
	}
	// settle waits for the write in flight. If it failed, the session goes
	// back to before its piece, which compiles in a Batch (code is 1 if
	// that has errors), and settle reports that what was built since must
	// be built again.
	settle := func() (bool, error) {
		w := inflight
		if w == nil {
			return false, nil
		}
		inflight = nil
		if err := <-w.done; err == nil {
			writtenTo = w.piece.upTo()
			return false, nil
		}
		sess.Restore(w.mark)
		if err := batch(w.piece); len(errs) > 0 {
			code = 1
		} else if err != nil {
			return true, fmt.Errorf("mofcomp: %s: %w", w.piece.name, err)
		} else {
			writtenTo = w.piece.upTo()
		}
		return true, nil
	}
pieces:
	for p := range pieces {
		for { // once, or again when the write before this piece failed
			if len(p.errs) > 0 {
				if _, err := settle(); err != nil {
					bar.done()
					return err
				}
				if code == 0 {
					errs, code = p.errs, 3
				}
				break pieces
			}
			mark := sess.Mark()
			ns, insts, plain := sess.BuildInstances(base, p.unit)
			redo, err := settle()
			if err != nil {
				bar.done()
				return err
			}
			if code != 0 {
				break pieces
			}
			if redo {
				continue
			}
			if plain {
				if len(insts) == 0 {
					writtenTo = p.upTo()
					break
				}
				w := &streamWrite{piece: p, mark: mark, done: make(chan error, 1)}
				go func() {
					_, err := om.PutInstances(ctx, ns, localPrincipal(), insts, cimom.FlagCreateOnly)
					w.done <- err
				}()
				inflight = w
				break
			}
			if err := batch(p); len(errs) > 0 {
				code = 1
				break pieces
			} else if err != nil {
				bar.done()
				return fmt.Errorf("mofcomp: %s: %w", p.name, err)
			}
			writtenTo = p.upTo()
			break
		}
	}
	if code == 0 {
		if _, err := settle(); err != nil {
			bar.done()
			return err
		}
	}
	if code == 0 {
		if err := <-readErr; err != nil {
			bar.done()
			return fmt.Errorf("mofcomp: %w", err)
		}
	}
	bar.done()
	sum, ferrs := sess.Finish()
	if code == 0 && len(ferrs) > 0 {
		errs, code = ferrs, 1
	}
	if code != 0 {
		for _, e := range errs {
			fmt.Fprintln(a.stderr, e.Error())
		}
		what := "nothing was written"
		if writtenTo != "" {
			what = "the pieces before were written (" + writtenTo + ")"
		}
		return &exitError{code: code, msg: fmt.Sprintf("%d error(s); %s", len(errs), what)}
	}
	a.printSummary("compiled (streamed)", &mof.Unit{Files: files, Bytes: total}, sum, start)
	return nil
}

// streamParse reads files in pieces (mof.Split), parses each and sends it
// to out in order, until ctx ends. It stops after a piece with syntax
// errors (which it sends).
func streamParse(ctx context.Context, files []string, total int64, out chan<- parsedPiece) error {
	var done int64
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		err = mof.Split(f, streamPiece, func(p mof.Piece) error {
			u, perrs := mof.ParsePiece(name, p.Text, p.Line, done+p.End, total)
			pp := parsedPiece{name: name, unit: u, errs: perrs, endLine: p.Line + strings.Count(p.Text, "\n")}
			select {
			case out <- pp:
			case <-ctx.Done():
				return ctx.Err()
			}
			if len(perrs) > 0 {
				return errStopStream
			}
			return nil
		})
		f.Close()
		if errors.Is(err, errStopStream) || ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if fi, serr := os.Stat(name); serr == nil {
			done += fi.Size()
		}
	}
	return nil
}
