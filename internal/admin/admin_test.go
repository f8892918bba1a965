package admin

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/wbemd/wbemd/auth"
	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/httpstack"
	"github.com/wbemd/wbemd/store/bolt"
)

// attached opens a repository with the administration served.
func attached(t *testing.T) (*cimom.CIMOM, *bolt.DB) {
	t.Helper()
	ctx := context.Background()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "r.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	om, err := cimom.Open(ctx, db, cimom.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { om.Close(ctx); db.Close() })
	if err := Attach(ctx, om, db, auth.New(db), Options{Version: "test", TempDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	return om, db
}

// TestCheckSnapshotWhileWriting: the check of a store that serves writes
// (instances with an Indexed property, whose index entries a check of the
// live store could see half-way) runs on a snapshot and finds it sound
// every time.
func TestCheckSnapshotWhileWriting(t *testing.T) {
	ctx := context.Background()
	om, db := attached(t)
	root := cimom.Principal{Name: "root"}
	svc, err := om.Connect(ctx, "root/cimv2", root)
	if err != nil {
		t.Fatal(err)
	}
	yes := cim.Value{Type: cim.TypeBoolean, V: true}
	cls := &cim.Object{Genus: cim.GenusClass, Class: "W", Properties: []cim.Property{
		{Name: "Id", Type: cim.TypeUint32, Value: cim.Null(cim.TypeUint32), Qualifiers: []cim.Qualifier{{Name: "Key", Value: yes}}},
		{Name: "Tag", Type: cim.TypeString, Value: cim.Null(cim.TypeString), Qualifiers: []cim.Qualifier{{Name: "Indexed", Value: yes}}}}}
	if err := svc.PutClass(ctx, cls, 0, nil); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			inst, _ := cls.SpawnInstance()
			inst.Put("Id", cim.Value{Type: cim.TypeUint32, V: uint32(i % 50)})
			inst.Put("Tag", cim.Value{Type: cim.TypeString, V: fmt.Sprint("t", i)})
			if _, err := svc.PutInstance(ctx, inst, 0, nil); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for range 10 {
		rep, err := CheckSnapshot(ctx, db, t.TempDir())
		if err != nil || rep.DanglingCount != 0 {
			t.Errorf("check of a snapshot: %v, %s", err, rep)
		}
	}
	close(stop)
	wg.Wait()
}

// TestBackupRights: the backup stream answers GET only, and only to a
// caller with METHOD_EXECUTE on root/wbemd.
func TestBackupRights(t *testing.T) {
	om, db := attached(t)
	stack := &httpstack.Stack{Auth: func(r *http.Request) (cimom.Principal, bool) {
		name, _, ok := r.BasicAuth()
		p := cimom.Principal{Name: name}
		if name == "boss" {
			p.Groups = []string{cimom.GroupAdministrators}
		}
		return p, ok
	}}
	srv := httptest.NewServer(stack.Serve(BackupDoor(), Backup(om, db)))
	defer srv.Close()
	get := func(method, user string) int {
		req, _ := http.NewRequest(method, srv.URL+BackupPath, nil)
		req.SetBasicAuth(user, "x")
		rsp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		rsp.Body.Close()
		return rsp.StatusCode
	}
	if code := get(http.MethodGet, "boss"); code != http.StatusOK {
		t.Errorf("administrator: HTTP %d", code)
	}
	if code := get(http.MethodGet, "alice"); code != http.StatusForbidden {
		t.Errorf("a user: HTTP %d", code)
	}
	if code := get(http.MethodPost, "boss"); code != http.StatusMethodNotAllowed {
		t.Errorf("POST: HTTP %d", code)
	}
}
