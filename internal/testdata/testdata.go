// Package testdata gives tests the outside data kept in the tree's
// testdata folder (the DMTF CIM schema and OpenPegasus's wetest files),
// and a repository holding the sample schema.
package testdata

import (
	"archive/zip"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/mof"
	"github.com/wbemd/wbemd/store/bolt"
)

// Dir returns the absolute path of the tree's testdata folder.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata")
}

// PegasusLoad returns the folder of the MOF files Pegasus's static wetest
// suite preloads.
func PegasusLoad() string { return filepath.Join(Dir(), "pegasus-wetest", "Load") }

// CIMSchema unpacks the DMTF CIM schema 2.49 into a temporary directory and
// returns the path of its top file, cim_schema_2.49.0.mof.
func CIMSchema(t testing.TB) string {
	t.Helper()
	zr, err := zip.OpenReader(filepath.Join(Dir(), "cim-schema", "cim_schema_2.49.0Final-MOFs.zip"))
	if err != nil {
		t.Fatalf("the DMTF schema zip: %v", err)
	}
	defer zr.Close()
	dir := t.TempDir()
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		dst := filepath.Join(dir, filepath.FromSlash(f.Name))
		if !strings.HasPrefix(dst, dir+string(os.PathSeparator)) {
			t.Fatalf("bad zip entry %s", f.Name)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "cim_schema_2.49.0.mof")
}

// NewCIMOM opens a new, empty repository on disk, closed when the test
// ends.
func NewCIMOM(t testing.TB) *cimom.CIMOM {
	t.Helper()
	ctx := context.Background()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "r.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	om, err := cimom.Open(ctx, db, cimom.Options{Server: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { om.Close(ctx); db.Close() })
	return om
}

// SampleCIMOM opens a real repository on disk holding examples/sample.mof
// (namespace root/sample), closed when the test ends.
func SampleCIMOM(t testing.TB) *cimom.CIMOM {
	t.Helper()
	ctx := context.Background()
	om := NewCIMOM(t)
	u, errs := mof.Load([]string{filepath.Join(Dir(), "..", "examples", "sample.mof")}, nil, nil)
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	root, err := om.Connect(ctx, "root", cimom.Principal{Name: "root"})
	if err != nil {
		t.Fatal(err)
	}
	if _, errs := mof.Compile(ctx, root, u, mof.Options{}); len(errs) > 0 {
		t.Fatal(errs[0])
	}
	return om
}
