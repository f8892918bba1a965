package linux

import (
	"bytes"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

func TestSplitCommandLine(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		bad  bool
	}{
		{"sleep 10", []string{"sleep", "10"}, false},
		{"  a\t b  ", []string{"a", "b"}, false},
		{`echo "a b" 'c d' e\ f`, []string{"echo", "a b", "c d", "e f"}, false},
		{`x "q\"uote" "back\\slash" "a\n"`, []string{"x", `q"uote`, `back\slash`, `a\n`}, false},
		{`a''b ""`, []string{"ab", ""}, false},
		{`'$HOME' *`, []string{"$HOME", "*"}, false},
		{"", nil, false},
		{`"open`, nil, true},
		{`'open`, nil, true},
	}
	for _, c := range cases {
		got, err := splitCommandLine(c.in)
		if (err != nil) != c.bad || !c.bad && !reflect.DeepEqual(got, c.want) {
			t.Errorf("splitCommandLine(%q) = %q, %v; want %q (error %v)", c.in, got, err, c.want, c.bad)
		}
	}
}

// FuzzSplitCommandLine: any command line splits or fails, never panics;
// what a process's CommandLine prints splits back into its arguments.
func FuzzSplitCommandLine(f *testing.F) {
	f.Add(`echo "a b" 'c' d\ e`)
	f.Add(`"`)
	f.Add("a\x00b")
	f.Fuzz(func(t *testing.T, s string) {
		args, err := splitCommandLine(s)
		if err != nil {
			return
		}
		for _, a := range args {
			if a == "" || strings.ContainsFunc(a, func(r rune) bool { return r < ' ' || r > '~' || r == '"' || r == '\'' || r == '\\' }) {
				return // CommandLine quotes as Go does, not as a shell: compare only printable words
			}
		}
		p := &proc{Args: args}
		back, err := splitCommandLine(p.CommandLine())
		if err != nil || !reflect.DeepEqual(back, args) && len(args) > 0 {
			t.Fatalf("%q: CommandLine %q splits to %q, %v", s, p.CommandLine(), back, err)
		}
	})
}

func TestParseStat(t *testing.T) {
	line := "4242 (a) b (c)) S 1 4242 4242 34816 4242 4194560 120 0 3 0 7 5 0 0 20 0 1 0 123456 8654848 230 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
	p := &proc{}
	if err := p.parseStat([]byte(line)); err != nil {
		t.Fatal(err)
	}
	if p.Comm != "a) b (c)" || p.State != 'S' || p.PPID != 1 || p.Session != 4242 || p.TTY != 34816 || p.MinFlt != 120 || p.MajFlt != 3 ||
		p.UTime != 7 || p.STime != 5 || p.Priority != 20 || p.Nice != 0 || p.Threads != 1 || p.Start != 123456 || p.VSize != 8654848 || p.RSS != 230*pageSize {
		t.Errorf("parsed %+v", p)
	}
	if ttyName(p.TTY) != "pts/0" {
		t.Errorf("tty %q", ttyName(p.TTY))
	}
	for _, bad := range []string{"", "1 (x", "1 (x) S 1 2"} {
		if err := (&proc{}).parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q) passed", bad)
		}
	}
}

// FuzzParseStat: whatever /proc/[pid]/stat holds, parsing it ends with
// values or an error, never a panic.
func FuzzParseStat(f *testing.F) {
	f.Add("1 (init) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 9 10 11 12")
	f.Add("1 () ")
	f.Add(")(")
	f.Fuzz(func(t *testing.T, s string) {
		p := &proc{}
		if p.parseStat([]byte(s)) == nil {
			_ = executionState(p.State)
			_ = ttyName(p.TTY)
		}
		p.parseStatus([]byte(s))
	})
}

// TestReadSelf reads this test's own process and compares it with what
// the os package says.
func TestReadSelf(t *testing.T) {
	p, err := readProc(&reader{}, os.Getpid(), allNeeds)
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	if p.PID != os.Getpid() || p.PPID != os.Getppid() || p.UID != uint32(os.Getuid()) || p.Exe != exe ||
		!reflect.DeepEqual(p.Args, os.Args) || p.FDs < 3 || p.Threads < 1 || !p.hasStatus {
		t.Errorf("read %+v", p)
	}
	if _, err := readProc(&reader{}, 1<<30, allNeeds); err != errGone {
		t.Errorf("a process that does not exist: %v", err)
	}
}

func TestUnescape(t *testing.T) {
	if got := unescapeMount(`/mnt/a\040b\134c`); got != `/mnt/a b\c` {
		t.Errorf("unescapeMount: %q", got)
	}
	if got := unescapeUdev(`My\x20Disk\xZZ`); got != `My Disk\xZZ` {
		t.Errorf("unescapeUdev: %q", got)
	}
}

// TestMountsRoot: "/" is listed, once, with its size.
func TestMountsRoot(t *testing.T) {
	all, err := mounts(true)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range all {
		if m.Point == "/" {
			n++
			if m.statErr != nil || m.Size() == 0 {
				t.Errorf("/: %v, size %d", m.statErr, m.Size())
			}
		}
		if strings.HasPrefix(m.Point, "/proc") || m.Type == "proc" || m.Type == "sysfs" || m.Type == "cgroup" {
			t.Errorf("pseudo file system listed: %+v", m)
		}
	}
	if n != 1 {
		t.Errorf("/ listed %d times", n)
	}
}

// TestCountFDs: the count of a process's open files is the number of
// entries of its fd directory, by either way of counting.
func TestCountFDs(t *testing.T) {
	for _, pid := range []string{"self", "1"} {
		dir := procRoot + "/" + pid + "/fd"
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Skipf("%s: %v", dir, err)
		}
		// The listing itself opens a file for a moment: this process's
		// count may differ from it by one.
		if got, list := (&reader{}).countFDs(dir), countDir(dir); got != list && got != list-1 || list != len(entries) && list != len(entries)+1 {
			t.Errorf("%s: countFDs %d, countDir %d, ReadDir %d", dir, got, list, len(entries))
		}
	}
	if !statCountsFDs() {
		t.Log("this kernel does not give the count as the directory's size; countFDs lists")
	}
	if got := (&reader{}).countFDs(procRoot + "/1073741824/fd"); got != -1 {
		t.Errorf("a process that does not exist: %d", got)
	}
}

// TestReader: the raw reader reads files, links and sizes as the os
// package does, and fails where it fails.
func TestReader(t *testing.T) {
	r := &reader{}
	b, err := r.read(procRoot + "/self/cmdline")
	want, _ := os.ReadFile(procRoot + "/self/cmdline")
	if err != nil || string(b) != string(want) {
		t.Errorf("read: %q, %v; want %q", b, err, want)
	}
	stat, err := r.readNow(procRoot + "/self/status")
	if err != nil || !strings.HasPrefix(string(stat), "Name:") {
		t.Errorf("readNow: %q, %v", stat, err)
	}
	if _, err := r.read(procRoot + "/self/nonexistent"); !isNotExist(err) {
		t.Errorf("read of a missing file: %v", err)
	}
	if _, err := r.read("/x\x00y"); err == nil {
		t.Error("read of a path with a NUL")
	}
	exe, _ := os.Readlink(procRoot + "/self/exe")
	if got := r.readlink(procRoot + "/self/exe"); got != exe || got == "" {
		t.Errorf("readlink %q, want %q", got, exe)
	}
	if got := r.readlink(procRoot + "/self/stat"); got != "" {
		t.Errorf("readlink of a file: %q", got)
	}
	fi, err := os.Stat(procRoot + "/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := r.size("/etc/hostname"); !ok {
		t.Error("size of /etc/hostname")
	} else if st, _ := os.Stat("/etc/hostname"); st.Size() != n {
		t.Errorf("size %d, want %d", n, st.Size())
	}
	if n, ok := r.size(procRoot + "/self/stat"); !ok || n != fi.Size() {
		t.Errorf("size of stat: %d %v", n, ok)
	}
	if _, ok := r.size(procRoot + "/self/nonexistent"); ok {
		t.Error("size of a missing file")
	}
}

// TestStatxSize: the kernel writes a whole struct statx.
func TestStatxSize(t *testing.T) {
	if n := unsafe.Sizeof(statx{}); n != 256 {
		t.Errorf("struct statx is %d bytes, the kernel writes 256", n)
	}
}

// TestParseStatus: parseStatus reads in one pass what field and kb read
// key by key: from this process's status, and from texts with keys
// missing, repeated or malformed.
func TestParseStatus(t *testing.T) {
	self, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{
		string(self),
		"Name:\tx\nUid:\t1\t2\t3\t4\nUid:\t5\t6\t7\t8\nVmPeak:\t  12 kB\nVmPeak: 13 kB\nVmHWM:\tjunk\n",
		"Gid:\t7\nRssAnon:\t99999999999999999999999 kB\nVmSwap:\t4 kB",
		"VmSwap\t4 kB\n:\nUid:",
	} {
		var got proc
		got.parseStatus([]byte(text))
		b := []byte(text)
		ids := func(key string) (uint32, uint32) {
			f := bytes.Fields(field(b, key))
			if len(f) < 2 {
				return 0, 0
			}
			x, _ := strconv.ParseUint(string(f[0]), 10, 32)
			y, _ := strconv.ParseUint(string(f[1]), 10, 32)
			return uint32(x), uint32(y)
		}
		want := proc{hasStatus: true}
		want.UID, want.EUID = ids("Uid")
		want.GID, _ = ids("Gid")
		want.VmPeak, _ = kb(b, "VmPeak")
		want.VmHWM, _ = kb(b, "VmHWM")
		want.RssAnon, _ = kb(b, "RssAnon")
		want.VmSwap, _ = kb(b, "VmSwap")
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q:\ngot  %+v\nwant %+v", text, got, want)
		}
	}
}
