package linux

import (
	"archive/zip"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/internal/testdata"
)

var update = flag.Bool("update", false, "rewrite mof/cim.mof from the DMTF schema in testdata")

// cimRoots are the DMTF classes the built-in classes derive from; the
// subset is them, their superclasses, and the classes their references
// name, transitively.
var cimRoots = []string{
	"CIM_ComputerSystem", "CIM_OperatingSystem", "CIM_UnixProcess", "CIM_Processor", "CIM_FileSystem",
	"CIM_EthernetPort", "CIM_IPProtocolEndpoint", "CIM_RunningOS", "CIM_OSProcess", "CIM_HostedFileSystem",
	"CIM_SystemDevice", "CIM_LogicalElement", "CIM_StatisticalInformation", "CIM_Setting",
}

// cimSubset cuts the subset out of the DMTF CIM schema 2.49 zip: the
// qualifier declarations, then the classes' files in the order
// cim_schema_2.49.0.mof includes them (superclasses first).
func cimSubset(t *testing.T) string {
	zr, err := zip.OpenReader(filepath.Join(testdata.Dir(), "cim-schema", "cim_schema_2.49.0Final-MOFs.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	files := map[string]string{}
	for _, f := range zr.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name] = string(b)
	}
	order := regexp.MustCompile(`#pragma include \("([^"]+)"\)`).FindAllStringSubmatch(files["cim_schema_2.49.0.mof"], -1)
	classRE := regexp.MustCompile(`(?m)^\s*class\s+(\w+)\s*(?::\s*(\w+))?`)
	refRE := regexp.MustCompile(`(\w+)\s+REF\b`)
	type class struct{ file, super string }
	classes := map[string]class{}
	refs := map[string][]string{}
	for _, m := range order {
		cm := classRE.FindStringSubmatch(files[m[1]])
		if cm == nil {
			continue
		}
		classes[cm[1]] = class{m[1], cm[2]}
		for _, r := range refRE.FindAllStringSubmatch(files[m[1]], -1) {
			refs[cm[1]] = append(refs[cm[1]], r[1])
		}
	}
	need := map[string]bool{}
	stack := append([]string{}, cimRoots...)
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if need[c] {
			continue
		}
		cl, ok := classes[c]
		if !ok {
			t.Fatalf("class %s is not in the schema", c)
		}
		need[c] = true
		if cl.super != "" {
			stack = append(stack, cl.super)
		}
		stack = append(stack, refs[c]...)
	}
	var names []string
	for c := range need {
		names = append(names, c)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "// The part of the DMTF CIM Schema 2.49.0 (final) that wbemd's built-in providers\n"+
		"// derive from: %d classes (%s),\n"+
		"// and the schema's qualifier declarations. Cut from testdata/cim-schema by\n"+
		"// `go test ./providers/linux -run TestCIMSubset -update`; the files are DMTF's,\n"+
		"// unchanged. Copyright DMTF; DMTF specifications may be reproduced with attribution.\n\n",
		len(names), strings.Join(names, ", "))
	for _, m := range order {
		f := m[1]
		cm := classRE.FindStringSubmatch(files[f])
		if strings.HasPrefix(f, "qualifiers") || cm != nil && need[cm[1]] {
			fmt.Fprintf(&b, "// ==== %s\n%s\n", f, strings.TrimRight(strings.ReplaceAll(files[f], "\r\n", "\n"), "\n"))
		}
	}
	return b.String()
}

// TestCIMSubset: mof/cim.mof is exactly the subset the DMTF schema gives
// for cimRoots.
func TestCIMSubset(t *testing.T) {
	want := cimSubset(t)
	if *update {
		if err := os.WriteFile("mof/cim.mof", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("mof/cim.mof")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatal("mof/cim.mof is not the subset of the DMTF schema: run go test ./providers/linux -run TestCIMSubset -update")
	}
}
