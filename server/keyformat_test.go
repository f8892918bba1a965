package server_test

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/server"
	"github.com/wbemd/wbemd/store"
	"github.com/wbemd/wbemd/store/bolt"
)

// TestKeyFormatUpgradeThroughDaemon: wbemd opens a repository of format 1
// (string key values stored as written, no format record), upgrades it,
// and wbemcli finds the instance through a differently cased key; it keeps
// the case it was created with.
func TestKeyFormatUpgradeThroughDaemon(t *testing.T) {
	ctx := context.Background()
	repo := t.TempDir()
	wbem := func(stdin string, args ...string) {
		cmd := exec.Command(filepath.Join(bin, "wbem"), append([]string{"--repo", repo}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("wbem %v: %v\n%s", args, err, out)
		}
	}
	wbem("", "mofcomp", "../examples/sample.mof")
	wbem("secret\n", "user", "add", "admin", "--admin", "--password-stdin")
	wbem("", "-n", "root/sample", "put", `Sample_Disk.Name="SDX"`, "Model=upper")

	// Write it back in format 1: the instance under its key as written.
	db, err := bolt.Open(filepath.Join(repo, server.RepoFile), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ops []store.Op
	for kv, err := range db.Range(ctx, []byte("i\x00"), []byte("i\x01")) {
		if err != nil {
			t.Fatal(err)
		}
		if bytes.HasSuffix(kv.Key, []byte(`name="sdx"`)) {
			old := append(bytes.TrimSuffix(bytes.Clone(kv.Key), []byte(`name="sdx"`)), `name="SDX"`...)
			ops = append(ops, store.Delete(kv.Key), store.Put(old, kv.Value))
		}
	}
	if len(ops) != 2 {
		t.Fatalf("the instance's record: %d ops", len(ops))
	}
	if _, err := db.Txn(ctx, nil, append(ops, store.Delete([]byte("f")))); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	d := startDaemonOn(t, repo)
	base := "http://admin:secret@" + d.http + "/root/sample"
	out, err := exec.Command("wbemcli", "-noverify", "gi", base+`:Sample_Disk.Name="sdx"`).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `Name="SDX",`) || !strings.Contains(string(out), `Model="upper"`) {
		t.Fatalf("wbemcli gi after the upgrade: %v\n%s", err, out)
	}
	out, err = exec.Command("wbemcli", "-noverify", "ci", base+`:Sample_Disk.Name="Sdx"`, `Name="Sdx",Model="x"`).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "CIM_ERR_ALREADY_EXISTS") {
		t.Fatalf("wbemcli ci in another case after the upgrade: %v\n%s", err, out)
	}
}
