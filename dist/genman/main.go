// Command genman writes the manual pages wbem(1) and wbemd(8): the text
// written by hand in a template (dist/man/NAME.in), with the options and
// verbs filled in from the commands themselves, so that the pages list
// every flag and verb the binaries have.
//
//	genman [-version V] [-date YYYY-MM-DD] wbem dist/man/wbem.1.in > wbem.1
//	wbemd --help 2>&1 | genman [-version V] [-date YYYY-MM-DD] wbemd dist/man/wbemd.8.in > wbemd.8
//
// In a template, a line @OPTIONS@ becomes the options, @COMMANDS@ the verbs
// (wbem only), and @VERSION@ and @DATE@ in any line the -version and -date
// values. wbemd's options are read from its --help output on standard
// input (the flag package's format). The date defaults to
// $SOURCE_DATE_EPOCH, else today; defaults that wbem takes from the
// environment are left out, since the environment is cleared first.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/wbemd/wbemd/internal/cli"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "genman: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("genman", flag.ContinueOnError)
	version := fs.String("version", "devel", "the version the pages describe")
	date := fs.String("date", "", "the pages' date, YYYY-MM-DD (default $SOURCE_DATE_EPOCH, else today)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return errors.New("usage: genman [-version V] [-date YYYY-MM-DD] wbem|wbemd TEMPLATE")
	}
	if *date == "" {
		t := time.Now()
		if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
			sec, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return fmt.Errorf("$SOURCE_DATE_EPOCH: %w", err)
			}
			t = time.Unix(sec, 0)
		}
		*date = t.UTC().Format("2006-01-02")
	}
	tmpl, err := os.ReadFile(fs.Arg(1))
	if err != nil {
		return err
	}
	sections := map[string]string{}
	switch fs.Arg(0) {
	case "wbem":
		os.Clearenv() // wbem's defaults without this machine's $WBEM_REPO, $USER, ...
		global, verbs := cli.Reference()
		sections["@OPTIONS@"] = options(global)
		sections["@COMMANDS@"] = commands(verbs)
	case "wbemd":
		opts, err := parseHelp(stdin)
		if err != nil {
			return fmt.Errorf("wbemd --help on standard input: %w", err)
		}
		sections["@OPTIONS@"] = options(opts)
	default:
		return fmt.Errorf("unknown page %q: wbem or wbemd", fs.Arg(0))
	}
	page, err := fill(string(tmpl), sections, *version, *date)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(1), err)
	}
	_, err = io.WriteString(stdout, page)
	return err
}

// fill replaces the template's marker lines and words.
func fill(tmpl string, sections map[string]string, version, date string) (string, error) {
	var b strings.Builder
	used := map[string]bool{}
	for _, line := range strings.SplitAfter(tmpl, "\n") {
		if s, ok := sections[strings.TrimSpace(line)]; ok {
			used[strings.TrimSpace(line)] = true
			b.WriteString(s)
			continue
		}
		line = strings.ReplaceAll(line, "@VERSION@", escape(version))
		b.WriteString(strings.ReplaceAll(line, "@DATE@", date))
	}
	for marker := range sections {
		if !used[marker] {
			return "", fmt.Errorf("no %s line", marker)
		}
	}
	return b.String(), nil
}

// options renders flags as a roff tagged list.
func options(flags []cli.Flag) string {
	var b strings.Builder
	for _, f := range flags {
		b.WriteString(".TP\n")
		if f.Shorthand != "" {
			fmt.Fprintf(&b, "\\fB\\-%s\\fR, ", escape(f.Shorthand))
		}
		fmt.Fprintf(&b, "\\fB\\-\\-%s\\fR", escape(f.Name))
		if f.Arg != "" {
			fmt.Fprintf(&b, " \\fI%s\\fR", escape(f.Arg))
		}
		usage := f.Usage
		if f.Default != "" {
			usage += " (default: " + f.Default + ")"
		}
		b.WriteString("\n" + text(usage))
	}
	return b.String()
}

// commands renders the verbs as a roff tagged list.
func commands(verbs []cli.Verb) string {
	var b strings.Builder
	for _, v := range verbs {
		fmt.Fprintf(&b, ".TP\n\\fB%s\\fR", escape(v.Path))
		if v.Args != "" {
			fmt.Fprintf(&b, " %s", escape(v.Args))
		}
		b.WriteString("\n")
		if v.Long != "" {
			b.WriteString(text(v.Long))
		} else {
			b.WriteString(text(v.Short))
		}
		if len(v.Flags) > 0 {
			b.WriteString(".RS\n")
			b.WriteString(options(v.Flags))
			b.WriteString(".RE\n")
		}
	}
	return b.String()
}

// text renders help text: paragraphs split by blank lines, indented
// paragraphs (examples) kept as they are.
func text(s string) string {
	var b strings.Builder
	for i, para := range strings.Split(strings.TrimSpace(s), "\n\n") {
		if i > 0 {
			b.WriteString(".IP\n")
		}
		lines := strings.Split(para, "\n")
		if strings.HasPrefix(lines[0], " ") || strings.HasPrefix(lines[0], "\t") {
			b.WriteString(".nf\n")
			for _, l := range lines {
				b.WriteString(line(strings.TrimSpace(l)))
			}
			b.WriteString(".fi\n")
			continue
		}
		for _, l := range lines {
			b.WriteString(line(strings.TrimSpace(l)))
		}
	}
	return b.String()
}

// line is one line of running text, escaped and kept from reading as a
// roff request.
func line(s string) string {
	s = escape(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s + "\n"
}

// escape makes text literal in roff: backslashes print as backslashes and
// hyphens as the minus signs of command lines.
func escape(s string) string {
	return strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
}

// defaultRE is the end the flag package gives a usage line whose flag has
// a non-zero default.
var defaultRE = regexp.MustCompile(` \(default (.*)\)$`)

// parseHelp reads the flags from the output of a Go program's --help (the
// flag package's PrintDefaults).
func parseHelp(r io.Reader) ([]cli.Flag, error) {
	var flags []cli.Flag
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "    \t"): // the usage, or one more line of it
			if len(flags) == 0 {
				return nil, fmt.Errorf("usage text before any flag: %q", l)
			}
			f := &flags[len(flags)-1]
			f.Usage = strings.TrimSpace(f.Usage + "\n" + strings.TrimPrefix(l, "    \t"))
		case strings.HasPrefix(l, "  -"): // "  -name type", or "  -x\tusage" for a one-letter name
			head, usage, _ := strings.Cut(strings.TrimPrefix(l, "  -"), "\t")
			name, arg, _ := strings.Cut(head, " ")
			flags = append(flags, cli.Flag{Name: name, Arg: arg, Usage: usage})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(flags) == 0 {
		return nil, errors.New("no flags found")
	}
	for i := range flags {
		f := &flags[i]
		if m := defaultRE.FindStringSubmatch(f.Usage); m != nil {
			f.Usage = strings.TrimSuffix(f.Usage, m[0])
			f.Default = m[1]
			if s, err := strconv.Unquote(m[1]); err == nil {
				f.Default = s
			}
		}
	}
	return flags, nil
}
