package provhost_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/provhost"
)

// waitGone waits until process pid no longer exists.
func waitGone(t *testing.T, pid uint32) {
	t.Helper()
	for i := 0; i < 2000; i++ {
		if syscall.Kill(int(pid), 0) != nil {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("process %d is still there", pid)
}

// rootPut writes an instance of a root class (the host configuration).
func (h *harness) rootPut(class string, kv ...any) {
	h.t.Helper()
	ctx := context.Background()
	root, err := h.om.Connect(ctx, "root", admin)
	if err != nil {
		h.t.Fatal(err)
	}
	cls, err := root.GetObject(ctx, class, 0, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	o, _ := cls.SpawnInstance()
	for i := 0; i+1 < len(kv); i += 2 {
		if err := o.Put(kv[i].(string), kv[i+1].(cim.Value)); err != nil {
			h.t.Fatal(err)
		}
	}
	if _, err := root.PutInstance(ctx, o, 0, nil); err != nil {
		h.t.Fatal(err)
	}
}

func interval(d time.Duration) cim.Value {
	return cim.Value{Type: cim.TypeDatetime, V: cim.IntervalFromDuration(d)}
}

// TestRegistrationIsLive: registration changes take effect on the next
// call, without a restart; a deleted registration stops its host.
func TestRegistrationIsLive(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, provhost.Options{}, testSchema)
	pid1, _, _ := h.whoami()
	// A new environment is a new host: the old one stops.
	reg, err := h.svc.GetObject(ctx, `__Win32Provider.Name="TestItems"`, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg.Put("Environment", cim.Value{Type: cim.TypeString.ArrayOf(), V: []string{"WBEMD_TEST_PROVIDER=items", "CHANGED=1"}})
	if _, err := h.svc.PutInstance(ctx, reg, cimom.FlagUpdateOnly, nil); err != nil {
		t.Fatal(err)
	}
	pid2, _, _ := h.whoami()
	if pid2 == pid1 {
		t.Fatal("the changed registration still runs the old host")
	}
	waitGone(t, pid1)
	// Without its instance registration the provider cannot get.
	if err := h.svc.DeleteInstance(ctx, `__InstanceProviderRegistration.provider="__Win32Provider.Name=\"TestItems\""`, 0, nil); err != nil {
		t.Fatal(err)
	}
	_, err = h.svc.GetObject(ctx, `Test_Item.Name="a"`, 0, nil)
	wantStatus(t, err, cim.EProviderNotCapable, "TestItems")
	// Without its __Win32Provider: not found, and the host goes away.
	h.rootPut(cimom.ObjectProviderCacheControlClass, "ClearAfter", interval(time.Hour)) // not idle: unregistered
	if err := h.svc.DeleteInstance(ctx, `__MethodProviderRegistration.provider="__Win32Provider.Name=\"TestItems\""`, 0, nil); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.DeleteInstance(ctx, `__Win32Provider.Name="TestItems"`, 0, nil); err != nil {
		t.Fatal(err)
	}
	_, err = h.svc.GetObject(ctx, `Test_Item.Name="a"`, 0, nil)
	wantStatus(t, err, cim.EProviderNotFound, "TestItems")
	_, err = h.call("Test_Item", "Whoami") // no method provider either
	wantStatus(t, err, cim.EMethodNotImplemented, "")
	waitGone(t, pid2)
}

// TestIdleUnload: a host idle for ClearAfter stops; the next call starts
// another.
func TestIdleUnload(t *testing.T) {
	h := newHarness(t, provhost.Options{}, testSchema)
	h.rootPut(cimom.ObjectProviderCacheControlClass, "ClearAfter", interval(300*time.Millisecond))
	pid, _, _ := h.whoami()
	waitGone(t, pid)
	if pid2, _, _ := h.whoami(); pid2 == pid {
		t.Fatal("same host after an idle unload")
	}
}

// TestKillMidEnumeration: kill -9 of a host during an enumeration fails
// it with PROVIDER_FAILURE naming the provider; the repository keeps
// answering, and the next call starts a new host.
func TestKillMidEnumeration(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, provhost.Options{}, testSchema)
	pid, _, _ := h.whoami()
	e, err := h.svc.CreateInstanceEnum(ctx, "Test_Many", cimom.FlagForwardOnly, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	objs, _, err := e.Next(ctx, cimom.Infinite, 10)
	if err != nil || len(objs) != 10 {
		t.Fatalf("first items: %d %v", len(objs), err)
	}
	syscall.Kill(int(pid), syscall.SIGKILL)
	for err == nil {
		_, _, err = e.Next(ctx, cimom.Infinite, 100)
	}
	wantStatus(t, err, cim.EProviderFailure, "TestItems")
	if _, err := h.svc.GetObject(ctx, "Test_Item", 0, nil); err != nil {
		t.Fatalf("the repository after the crash: %v", err)
	}
	if pid2, _, _ := h.whoami(); pid2 == pid {
		t.Fatal("no new host")
	}
	if st := h.sup.Statuses(); st[0].Restarts != 1 {
		t.Errorf("restarts %d, want 1", st[0].Restarts)
	}
}

// TestCrashLoopDisables: a host that keeps dying is disabled
// (PROVIDER_DISABLED, and Enabled = FALSE in its registration) until an
// administrator enables it again.
func TestCrashLoopDisables(t *testing.T) {
	ctx := context.Background()
	flag := filepath.Join(sharedDir(t), "crash")
	os.WriteFile(flag, nil, 0o644)
	h := newHarness(t, provhost.Options{CrashLimit: 3}, testSchema)
	reg, _ := h.svc.GetObject(ctx, `__Win32Provider.Name="TestItems"`, 0, nil)
	reg.Put("Environment", cim.Value{Type: cim.TypeString.ArrayOf(), V: []string{"WBEMD_TEST_PROVIDER=items", "WBEMD_TEST_CRASHFLAG=" + flag}})
	if _, err := h.svc.PutInstance(ctx, reg, 0, nil); err != nil {
		t.Fatal(err)
	}
	var err error
	for i := 0; i < 3; i++ {
		_, err = h.call("Test_Item", "Whoami")
		wantStatus(t, err, cim.EProviderLoadFailure, "TestItems")
	}
	_, err = h.call("Test_Item", "Whoami")
	wantStatus(t, err, cim.EProviderDisabled, "TestItems")
	// The repository says so (written in the background).
	for i := 0; ; i++ {
		reg, _ = h.svc.GetObject(ctx, `__Win32Provider.Name="TestItems"`, 0, nil)
		if v, _ := reg.Get("Enabled"); v.V == false {
			break
		}
		if i == 500 {
			t.Fatal("Enabled is not FALSE")
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, err = h.call("Test_Item", "Whoami")
	wantStatus(t, err, cim.EProviderDisabled, "TestItems")
	// Fixed and enabled: it serves again.
	os.Remove(flag)
	reg.Put("Enabled", cim.Value{Type: cim.TypeBoolean, V: true})
	if _, err := h.svc.PutInstance(ctx, reg, 0, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := h.call("Test_Item", "Whoami"); err != nil {
		t.Fatalf("after enabling: %v", err)
	}
}

// TestStartFailures: a missing executable, a host that never says hello,
// one that speaks another version or sends garbage.
func TestStartFailures(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, provhost.Options{InitTimeout: 500 * time.Millisecond, CrashLimit: -1}, testSchema)
	reg, _ := h.svc.GetObject(ctx, `__Win32Provider.Name="TestItems"`, 0, nil)
	for _, c := range []struct {
		command, mode string
		want          cim.Status
	}{
		{"/nonexistent/provider", "items", cim.EProviderNotFound},
		{providerBin, "nohello", cim.EProviderLoadFailure},
		{providerBin, "wrongversion", cim.EProviderLoadFailure},
		{providerBin, "garbage", cim.EProviderLoadFailure},
	} {
		reg.Put("Command", cim.Value{Type: cim.TypeString, V: c.command})
		reg.Put("Environment", cim.Value{Type: cim.TypeString.ArrayOf(), V: []string{"WBEMD_TEST_PROVIDER=" + c.mode}})
		if _, err := h.svc.PutInstance(ctx, reg, 0, nil); err != nil {
			t.Fatal(err)
		}
		_, err := h.call("Test_Item", "Whoami")
		if cim.StatusOf(err) != c.want || err.(*cim.Error).Provider != "TestItems" {
			t.Errorf("%s %s: %v, want %v", c.command, c.mode, err, c.want)
		}
	}
}

// TestHangTimesOut: a provider that does not answer gets
// PROVIDER_TIMED_OUT at its deadline, while calls to another provider and
// to the repository go on at their pace meanwhile; a host that ignores
// the cancellation is killed after the grace.
func TestHangTimesOut(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, provhost.Options{CancelGrace: 300 * time.Millisecond}, testSchema)
	reg, _ := h.svc.GetObject(ctx, `__Win32Provider.Name="TestItems"`, 0, nil)
	reg.Put("OperationTimeoutInterval", interval(time.Second))
	if _, err := h.svc.PutInstance(ctx, reg, 0, nil); err != nil {
		t.Fatal(err)
	}
	// Calls per second to the other provider and to the repository.
	rate := func(d time.Duration) (other, repo float64) {
		var n1, n2 atomic.Int64
		stop := time.Now().Add(d)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if _, err := h.svc.GetObject(ctx, `Test_Other.Name="x"`, 0, nil); err != nil {
					t.Errorf("other provider: %v", err)
					return
				}
				n1.Add(1)
			}
		}()
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if _, err := h.svc.GetObject(ctx, `__Win32Provider.Name="TestItems"`, 0, nil); err != nil {
					t.Errorf("repository: %v", err)
					return
				}
				n2.Add(1)
			}
		}()
		wg.Wait()
		return float64(n1.Load()) / d.Seconds(), float64(n2.Load()) / d.Seconds()
	}
	h.whoami()
	rate(200 * time.Millisecond) // both hosts up
	otherBefore, repoBefore := rate(700 * time.Millisecond)
	hung := make(chan error, 4)
	for _, ignore := range []bool{false, false, true, true} {
		go func() {
			_, err := h.call("Test_Item", "Hang", "IgnoreCancel", ignore)
			hung <- err
		}()
	}
	time.Sleep(100 * time.Millisecond)
	otherDuring, repoDuring := rate(700 * time.Millisecond)
	for range 4 {
		wantStatus(t, <-hung, cim.EProviderTimedOut, "TestItems")
	}
	t.Logf("calls/s without a hang: other provider %.0f, repository %.0f; during 4 hung calls: %.0f, %.0f (ratios %.2f, %.2f)",
		otherBefore, repoBefore, otherDuring, repoDuring, otherDuring/otherBefore, repoDuring/repoBefore)
	if otherDuring < otherBefore/3 || repoDuring < repoBefore/3 {
		t.Errorf("the hung provider slowed the others: ratios %.2f and %.2f", otherDuring/otherBefore, repoDuring/repoBefore)
	}
	// The host that ignored the cancellations was killed; the next call
	// starts another.
	if _, err := h.call("Test_Item", "Echo", "Text", "x"); err != nil {
		t.Fatalf("after the hang: %v", err)
	}
}

// TestClientGoneCancels: a caller that goes away cancels the call at the
// provider (the host finishes it: it is not killed).
func TestClientGoneCancels(t *testing.T) {
	h := newHarness(t, provhost.Options{CancelGrace: 5 * time.Second}, testSchema)
	pid, _, _ := h.whoami()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := h.svc.ExecMethod(ctx, "Test_Item", "Hang", nil, 0, nil)
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	cancel()
	if err := <-done; cim.StatusOf(err) != cim.ECallCancelled {
		t.Fatalf("cancelled call: %v", err)
	}
	if pid2, _, _ := h.whoami(); pid2 != pid {
		t.Fatal("the host was replaced after a cancellation it honoured")
	}
}

// sharedDir is a temporary directory the provider user can read.
func sharedDir(t *testing.T) string {
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755)
	return dir
}
