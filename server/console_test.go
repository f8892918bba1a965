package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// act is a browser action that returns nothing.
type act = chromedp.Action[chromedp.Void]

// browser starts Debian's chromium headless for a test, at 1280×800.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed (apt-get install chromium; scripts/test.sh --install-only does)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(1280, 800), chromedp.Flag("lang", "en-US"))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancel3)
	if err := chromedp.Do(ctx); err != nil { // start the browser
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// screens saves a screenshot of the page per step in the test's artifact
// directory (kept with go test -artifacts -outputdir DIR).
type screens struct {
	t   *testing.T
	dir string
	n   int
}

func newScreens(t *testing.T) *screens {
	dir := t.ArtifactDir()
	t.Logf("screenshots in %s", dir)
	return &screens{t: t, dir: dir}
}

func (s *screens) shot(name string) act {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		png, err := chromedp.FullScreenshot(100)(ctx, t)
		if err != nil {
			return fmt.Errorf("screenshot %s: %w", name, err)
		}
		s.n++
		return os.WriteFile(filepath.Join(s.dir, fmt.Sprintf("%02d-%s.png", s.n, name)), png, 0o644)
	})
}

// step runs browser actions, failing the test with the step's name and
// the page's text when one fails.
func step(t *testing.T, ctx context.Context, name string, actions ...act) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		text, _ := chromedp.Run(cctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("%s: %v\npage text:\n%s", name, err, text)
	}
}

// login logs in on the console's page.
func login(base, user, pw string) act {
	return chromedp.Steps(
		chromedp.Navigate(base+"/ui/#/login"),
		chromedp.WaitVisible(chromedp.CSS("#user")),
		chromedp.SetValue(chromedp.CSS("#user"), user),
		chromedp.SetValue(chromedp.CSS("#password"), pw),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#whoami")),
	)
}

// waitText waits until the element sel holds text.
func waitText(sel, text string) act {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for {
			js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e ? e.textContent : ""; })()`, sel)
			got, err := chromedp.Evaluate[string](js)(ctx, t)
			if err != nil {
				return err
			}
			if strings.Contains(got, text) {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s never held %q (last: %q)", sel, text, got)
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

// TestConsole drives the web console in chromium against a running
// wbemd: log in; go through the namespace and the class tree (with the
// keyboard) to a class and its MOF; start the live event view; create an
// instance with the editor (a bad value first: WBEM_E_TYPE_MISMATCH in
// the page) and find it in the table and its creation event in the live
// view, which watches while the rest of the console is used; see an edit
// refused with WBEM_E_TRANSACTION_CONFLICT when the instance changed
// after the editor loaded it, and accepted from the new version; filter,
// sort, view at a phone's width and in the dark theme; delete it and see that event too; run a
// query with its plan; see the providers' page; then a user without
// rights sees WBEM_E_ACCESS_DENIED. Each page is saved as a screenshot.
func TestConsole(t *testing.T) {
	d := startDaemon(t)
	base := "http://" + d.http
	ctx := browser(t)
	sc := newScreens(t)

	step(t, ctx, "the root leads to the log-in page",
		chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#user")), sc.shot("login"))
	step(t, ctx, "log in", login(base, "admin", "secret"),
		chromedp.WaitVisible(chromedp.CSS(`a[href="#/ns/root%2Fsample/classes"]`)), sc.shot("namespaces"))
	step(t, ctx, "the namespace's class tree",
		chromedp.Click(chromedp.CSS(`a[href="#/ns/root%2Fsample/classes"]`)),
		waitText("#rights", "administrator"),
		chromedp.WaitVisible(chromedp.CSS(`[data-class="Sample_StorageElement"]`)))
	step(t, ctx, "the keyboard opens the tree and a class",
		chromedp.Focus(chromedp.CSS(`[data-class="Sample_StorageElement"]`)),
		chromedp.KeyEvent(kb.ArrowRight),
		chromedp.WaitVisible(chromedp.CSS(`[data-class="Sample_Disk"]`)),
		chromedp.KeyEvent(kb.ArrowDown),
		chromedp.KeyEvent(kb.Enter),
		waitText("main h1", "Sample_Disk"),
		waitText("title", "Sample_Disk · wbemd"),
		waitText("main nav", "Sample_StorageElement"), // the inheritance
		waitText("#panel", "SizeBytes"), sc.shot("class"))
	step(t, ctx, "the MOF view",
		chromedp.Click(chromedp.CSS(`[data-tab="MOF"]`)),
		waitText("#mof", "class Sample_Disk : Sample_StorageElement"), sc.shot("class-mof"))
	step(t, ctx, "watch the namespace's instance events",
		chromedp.Navigate(base+"/ui/#/ns/root%2Fsample/events"),
		chromedp.WaitVisible(chromedp.CSS("#watch")),
		chromedp.SetValue(chromedp.CSS("#event-query"), `SELECT * FROM __InstanceOperationEvent WHERE TargetInstance ISA "Sample_Disk"`),
		chromedp.Click(chromedp.CSS("#watch")),
		waitText("#event-state", "Watching"),
		chromedp.NavigateBack(), waitText("main h1", "Sample_Disk"), chromedp.WaitVisible(chromedp.CSS("#live-flag")))
	step(t, ctx, "a bad value is refused before it is sent",
		chromedp.Click(chromedp.CSS("#new")),
		chromedp.WaitVisible(chromedp.CSS("#editor")),
		chromedp.SetValue(chromedp.CSS("#f-Name"), "sdz"),
		chromedp.SetValue(chromedp.CSS("#f-SizeBytes"), "big"),
		chromedp.Click(chromedp.CSS("#save")),
		waitText("#editor-error", "WBEM_E_TYPE_MISMATCH"),
		waitText("#editor-error", "does not have the type"), sc.shot("editor-type-mismatch"))
	step(t, ctx, "create the instance",
		chromedp.SetValue(chromedp.CSS("#f-SizeBytes"), "1000000"),
		chromedp.SetValue(chromedp.CSS("#f-RotationRate"), "7200"),
		chromedp.SetValue(chromedp.CSS("#f-Model"), "WD-1"),
		chromedp.SetValue(chromedp.CSS("#f-Tags"), `["fast", "new"]`),
		chromedp.Click(chromedp.CSS("#save")),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-path='Sample_Disk.Name="sdz"']`)),
		waitText(`tr[data-path='Sample_Disk.Name="sdz"']`, "7200"), sc.shot("instances"))
	// The server has it as the editor sent it.
	if got := restGet(t, base, `/api/v1/namespaces/root%2Fsample/instances/`+url.PathEscape(`Sample_Disk.Name="sdz"`)); got["SizeBytes"] != "1000000" && got["SizeBytes"] != 1e6 || fmt.Sprint(got["Tags"]) != "[fast new]" {
		t.Errorf("stored: %v", got)
	}
	step(t, ctx, "its creation event is in the live view",
		chromedp.Click(chromedp.CSS("#live-flag")),
		waitText("#events", "Name=sdz"),
		waitText("#events", "__InstanceCreationEvent"), sc.shot("live-events"),
		chromedp.NavigateBack(), chromedp.WaitVisible(chromedp.CSS(`tr[data-path='Sample_Disk.Name="sdz"']`)))
	sdz := `a[href="#/ns/root%2Fsample/edit/Sample_Disk.Name%3D%22sdz%22"]`
	step(t, ctx, "open the editor on it", chromedp.Click(chromedp.CSS(sdz)),
		chromedp.WaitVisible(chromedp.CSS("#editor")), waitText("#editor", "version"))
	// Someone else changes it meanwhile: the editor's write is refused.
	restPatch(t, base, `Sample_Disk.Name="sdz"`, `{"Model":"WD-2"}`)
	step(t, ctx, "a stale edit is refused with WBEM_E_TRANSACTION_CONFLICT",
		chromedp.SetValue(chromedp.CSS("#f-Model"), "WD-3"),
		chromedp.Click(chromedp.CSS("#save")),
		waitText("#editor-error", "WBEM_E_TRANSACTION_CONFLICT"),
		waitText("#editor-error", "Someone changed this instance"), sc.shot("editor-conflict"))
	step(t, ctx, "edit again from the current version",
		chromedp.Evaluate[chromedp.Void](`void (location.hash = "#/ns/root%2Fsample/class/Sample_Disk/instances")`),
		waitText(`tr[data-path='Sample_Disk.Name="sdz"']`, "WD-2"),
		chromedp.Click(chromedp.CSS(sdz)), chromedp.WaitVisible(chromedp.CSS("#editor")), waitText("#editor", "version"),
		chromedp.SetValue(chromedp.CSS("#f-Model"), "WD-3"),
		chromedp.Click(chromedp.CSS("#save")),
		waitText(`tr[data-path='Sample_Disk.Name="sdz"']`, "WD-3"))
	step(t, ctx, "sort and filter the page",
		filterRows("sdz"), waitText("#pageinfo", "1 of"), sc.shot("instances-filtered"),
		filterRows(""),
		chromedp.Click(chromedp.CSS(`#instances-table th button`)),
		chromedp.WaitVisible(chromedp.CSS(`#instances-table th[aria-sort="ascending"]`)))
	step(t, ctx, "a page from a key on",
		chromedp.SetValue(chromedp.CSS("#after"), "sda"),
		chromedp.Click(chromedp.CSS("#jump button")),
		chromedp.WaitNotPresent(chromedp.CSS(`tr[data-path='Sample_Disk.Name="sda"']`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-path='Sample_Disk.Name="sdb"']`)),
		waitText("#pageinfo", "Page 2"),
		chromedp.Click(chromedp.CSS("#prev")),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-path='Sample_Disk.Name="sda"']`)))
	step(t, ctx, "the page at a phone's width",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)),
		chromedp.Sleep(100*time.Millisecond), sc.shot("instances-phone"),
		chromedp.EmulateViewport(1280, 800))
	step(t, ctx, "the dark theme follows the system",
		colorScheme("dark"), waitStyle("body", "backgroundColor", "rgb(15, 18, 22)"), sc.shot("instances-dark"),
		colorScheme("light"), waitStyle("body", "backgroundColor", "rgb(255, 255, 255)"))
	del := `button[data-path='Sample_Disk.Name="sdz"']`
	step(t, ctx, "delete it",
		chromedp.Click(chromedp.CSS(del)),
		waitText(del, "Confirm delete"),
		chromedp.Click(chromedp.CSS(del)),
		chromedp.WaitNotPresent(chromedp.CSS(`tr[data-path='Sample_Disk.Name="sdz"']`)),
		waitText("main", `Deleted Sample_Disk.Name="sdz"`), sc.shot("deleted"))
	step(t, ctx, "its deletion event follows",
		chromedp.Click(chromedp.CSS("#live-flag")),
		waitText("#events", "__InstanceDeletionEvent"), sc.shot("live-events-deleted"))
	step(t, ctx, "a query with its plan",
		chromedp.Navigate(base+"/ui/#/ns/root%2Fsample/query"),
		chromedp.WaitVisible(chromedp.CSS("#wql")),
		chromedp.SetValue(chromedp.CSS("#wql"), `SELECT * FROM Sample_Disk WHERE Name = "sda"`),
		chromedp.Click(chromedp.CSS("#run")),
		waitText("#plan", "key lookup"),
		waitText("#results", "sda"), sc.shot("query"))
	step(t, ctx, "the providers' page",
		chromedp.Navigate(base+"/ui/#/providers"),
		waitText("main h1", "Providers"),
		chromedp.WaitVisible(chromedp.CSS("#no-providers, #results")), sc.shot("providers"))
	step(t, ctx, "log out", chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#user")))
	step(t, ctx, "a user without rights sees WBEM_E_ACCESS_DENIED",
		login(base, "guest", "guest-pw"),
		chromedp.Navigate(base+"/ui/#/ns/root%2Fsample/classes"),
		waitText("main .error", "WBEM_E_ACCESS_DENIED"),
		waitText("main .error", "You do not have the right"), sc.shot("access-denied"))
}

// colorScheme makes the page see the system's color scheme as scheme
// (prefers-color-scheme).
func colorScheme(scheme string) act {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		return err
	})
}

// waitStyle waits until the computed style property of sel is want.
func waitStyle(sel, property, want string) act {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for {
			got, err := chromedp.Evaluate[string](fmt.Sprintf(`getComputedStyle(document.querySelector(%q)).%s`, sel, property))(ctx, t)
			if err != nil {
				return err
			}
			if got == want {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s's %s is %q, not %q", sel, property, got, want)
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

// filterRows types text into the instance table's filter.
func filterRows(text string) act {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const f = document.querySelector("#filter"); f.value = %q; f.dispatchEvent(new Event("input")); })()`, text))
}

// restPatch updates properties of an instance through the JSON door as
// admin.
func restPatch(t *testing.T, base, path, body string) {
	t.Helper()
	req, _ := http.NewRequest("PATCH", base+"/api/v1/namespaces/root%2Fsample/instances/"+url.PathEscape(path), strings.NewReader(body))
	req.SetBasicAuth("admin", "secret")
	req.Header.Set("X-WBEM-Client", "test")
	rsp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rsp.Body.Close()
	if rsp.StatusCode != 200 {
		t.Fatalf("PATCH %s: HTTP %d", path, rsp.StatusCode)
	}
}

// restGet reads a resource of the JSON door as admin.
func restGet(t *testing.T, base, path string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.SetBasicAuth("admin", "secret")
	rsp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer rsp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(rsp.Body).Decode(&m); err != nil {
		t.Fatalf("GET %s: %d %v", path, rsp.StatusCode, err)
	}
	return m
}
