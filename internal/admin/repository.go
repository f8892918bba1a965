package admin

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/store"
	"github.com/wbemd/wbemd/store/bolt"
)

// repositoryProvider serves the static methods of WBEMD_Repository.
type repositoryProvider struct {
	om      *cimom.CIMOM
	st      store.Store
	tempDir string
}

func (p *repositoryProvider) Name() string { return providerName }

// Check's return values.
const (
	CheckSound    = 0 // every record sound, every reference points at an instance
	CheckDangling = 1 // sound, but some references point at nothing
	CheckDamaged  = 2 // a record or an index entry is damaged (Report says which)
)

// ExecMethod runs Check and CreateNamespace.
func (p *repositoryProvider) ExecMethod(ctx context.Context, ns string, target *cim.ObjectPath, m *cim.Method, in *cim.Object, wctx *cimom.Context) (*cim.Object, error) {
	switch {
	case cim.EqualFold(m.Name, "Check"):
		rep, err := CheckSnapshot(ctx, p.st, p.tempDir)
		rv, text := uint32(CheckSound), rep.String()
		switch {
		case err != nil:
			rv, text = CheckDamaged, err.Error()
		case rep.DanglingCount > 0:
			rv = CheckDangling
		}
		return parameters(rv,
			cim.Property{Name: "Report", Type: cim.TypeString, Value: cim.Value{Type: cim.TypeString, V: text}},
			cim.Property{Name: "Dangling", Type: cim.TypeString.ArrayOf(), Value: cim.Value{Type: cim.TypeString.ArrayOf(), V: nonNil(rep.Dangling)}}), nil
	case cim.EqualFold(m.Name, "CreateNamespace"):
		created, err := p.om.CreateNamespace(ctx, inString(in, "Name"), self)
		if err != nil {
			return nil, cim.AsError(err).WithParam("Name")
		}
		if !created {
			return nil, cim.Errorf(cim.EAlreadyExists, "namespace %s already exists", inString(in, "Name")).WithParam("Name")
		}
		return parameters(0), nil
	}
	return nil, cim.Errorf(cim.EMethodNotImplemented, "%s.%s is not implemented", RepositoryClass, m.Name)
}

// Check verifies the store st: the engine's own check (store.Checker),
// then every record, index entry and reference (cimom.Check). It reads
// st as it is: run it on a store no one writes, or use CheckSnapshot.
func Check(ctx context.Context, st store.Store) (cimom.CheckReport, error) {
	if c, ok := st.(store.Checker); ok {
		if err := c.Check(ctx); err != nil {
			return cimom.CheckReport{}, fmt.Errorf("store check: %w", err)
		}
	}
	rep, err := cimom.Check(ctx, st)
	if err != nil {
		return rep, fmt.Errorf("repository check: %w", err)
	}
	return rep, nil
}

// CheckSnapshot checks a store that is serving writes: an embedded store
// is backed up to a file in dir (default the system's temporary
// directory), opened, checked (Check) and removed, so that the check sees
// one consistent state; another engine, which cannot be copied aside, is
// checked as it is.
func CheckSnapshot(ctx context.Context, st store.Store, dir string) (cimom.CheckReport, error) {
	if _, ok := st.(*bolt.DB); !ok {
		return Check(ctx, st)
	}
	tmp, err := os.MkdirTemp(dir, ".wbemd-check-*")
	if err != nil {
		return cimom.CheckReport{}, fmt.Errorf("snapshot for the check: %w", err)
	}
	defer os.RemoveAll(tmp)
	path := filepath.Join(tmp, "snapshot.db")
	f, err := os.Create(path)
	if err != nil {
		return cimom.CheckReport{}, fmt.Errorf("snapshot for the check: %w", err)
	}
	err = st.Backup(ctx, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return cimom.CheckReport{}, fmt.Errorf("snapshot for the check: %w", err)
	}
	snap, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		return cimom.CheckReport{}, fmt.Errorf("open the snapshot: %w", err)
	}
	defer snap.Close()
	return Check(ctx, snap)
}
