package provhost_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/provider"
	"github.com/wbemd/wbemd/provider/wire"
)

// providerBin is a copy of this test binary that any user may run: with
// $WBEMD_TEST_PROVIDER set it is one of the test providers below.
var providerBin string

func TestMain(m *testing.M) {
	if mode := os.Getenv("WBEMD_TEST_PROVIDER"); mode != "" {
		os.Exit(testProvider(mode))
	}
	dir, err := os.MkdirTemp("", "provhost-bin")
	if err != nil {
		panic(err)
	}
	os.Chmod(dir, 0o755)
	self, err := os.Executable()
	if err != nil {
		panic(err)
	}
	providerBin = filepath.Join(dir, "testprovider")
	if err := copyFile(self, providerBin); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// testProvider serves the test providers; mode chooses the behaviour.
func testProvider(mode string) int {
	if flag := os.Getenv("WBEMD_TEST_CRASHFLAG"); flag != "" {
		if _, err := os.Stat(flag); err == nil {
			fmt.Fprintln(os.Stderr, "crashing on purpose")
			return 3
		}
	}
	switch mode {
	case "nohello":
		select {}
	case "garbage":
		f := os.NewFile(provider.WireFD, "wire")
		f.Write([]byte{0, 0, 0, 5, '{', '"', 'x', 'y', 'z'})
		select {}
	case "wrongversion":
		f := os.NewFile(provider.WireFD, "wire")
		wire.NewReader(f, 0).Read()
		wire.NewWriter(f).Write(&wire.Message{Type: wire.TypeHello, Version: 99, Providers: []string{"TestItems"}})
		select {}
	case "chain":
		return serve(chainProvider())
	case "events":
		return serve(eventsProvider())
	case "other":
		return serve(&provider.Provider{Name: "TestOther", Classes: map[string]*provider.Class{
			"Test_Other": {Get: func(ctx context.Context, r *provider.Request) (provider.Instance, error) {
				return provider.Instance{"Name": r.Keys.String("Name")}, nil
			}},
		}})
	}
	return serve(itemsProvider())
}

func serve(p *provider.Provider) int {
	if err := provider.Serve(p); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// itemsProvider serves Test_Item from memory, Test_Many (generated), and
// methods that misbehave on request.
func itemsProvider() *provider.Provider {
	var mu sync.Mutex
	items := map[string]provider.Instance{"a": {"Name": "a", "Size": 1, "Note": "first"}, "b": {"Name": "b", "Size": 2}}
	var queries []string
	many := 1000
	fmt.Sscan(os.Getenv("WBEMD_TEST_MANY"), &many)
	var hoard [][]byte
	return &provider.Provider{Name: "TestItems", Classes: map[string]*provider.Class{
		"Test_Item": {
			Get: func(ctx context.Context, r *provider.Request) (provider.Instance, error) {
				mu.Lock()
				defer mu.Unlock()
				if it, ok := items[r.Keys.String("Name")]; ok {
					return it, nil
				}
				return nil, cim.Errorf(cim.ENotFound, "no item %s", r.Keys.String("Name"))
			},
			Enumerate: func(ctx context.Context, r *provider.Request, send func(provider.Instance) error) error {
				mu.Lock()
				var all []provider.Instance
				for _, it := range items {
					all = append(all, it)
				}
				mu.Unlock()
				for _, it := range all {
					if err := send(it); err != nil {
						return err
					}
				}
				return nil
			},
			Query: func(ctx context.Context, r *provider.Request, send func(provider.Instance) error) error {
				mu.Lock()
				queries = append(queries, fmt.Sprintf("%s %s %v", r.Query.Where.Property, r.Query.Where.Op, r.Query.Where.Value))
				var all []provider.Instance
				for _, it := range items {
					all = append(all, it)
				}
				mu.Unlock()
				for _, it := range all { // more than asked: wbemd filters
					if err := send(it); err != nil {
						return err
					}
				}
				return nil
			},
			Put: func(ctx context.Context, r *provider.Request) (provider.Instance, error) {
				mu.Lock()
				defer mu.Unlock()
				name := r.Instance.String("Name")
				_, exists := items[name]
				switch {
				case r.CreateOnly && exists:
					return nil, cim.Errorf(cim.EAlreadyExists, "item %s exists", name)
				case r.UpdateOnly && !exists:
					return nil, cim.Errorf(cim.ENotFound, "no item %s", name)
				}
				it := provider.Instance{}
				for k, v := range r.Instance {
					if !strings.HasPrefix(k, "__") {
						it[k] = v
					}
				}
				if it["Note"] == nil {
					it["Note"] = "stored by the provider"
				}
				items[name] = it
				return it, nil
			},
			Delete: func(ctx context.Context, r *provider.Request) error {
				mu.Lock()
				defer mu.Unlock()
				name := r.Keys.String("Name")
				if _, ok := items[name]; !ok {
					return cim.Errorf(cim.ENotFound, "no item %s", name)
				}
				delete(items, name)
				return nil
			},
			Methods: map[string]provider.Method{
				"Echo": func(ctx context.Context, r *provider.Request) (provider.Instance, error) {
					text := r.In.String("Text")
					return provider.Instance{"ReturnValue": 0, "Said": text, "Length": len(text)}, nil
				},
				"Grow": func(ctx context.Context, r *provider.Request) (provider.Instance, error) {
					mu.Lock()
					defer mu.Unlock()
					it, ok := items[r.Keys.String("Name")]
					if !ok {
						return nil, cim.Errorf(cim.ENotFound, "no item")
					}
					by, _ := r.In.Int("By")
					size, _ := it.Int("Size")
					it["Size"] = size + by
					return provider.Instance{"ReturnValue": 0, "NewSize": size + by}, nil
				},
				"Hang": func(ctx context.Context, r *provider.Request) (provider.Instance, error) {
					if ignore, _ := r.In.Bool("IgnoreCancel"); ignore {
						select {}
					}
					<-ctx.Done()
					return nil, ctx.Err()
				},
				"Crash": func(ctx context.Context, r *provider.Request) (provider.Instance, error) {
					os.Exit(3)
					return nil, nil
				},
				"Alloc": func(ctx context.Context, r *provider.Request) (provider.Instance, error) {
					mib, _ := r.In.Int("MiB")
					for i := int64(0); mib == 0 || i < mib; i++ {
						b := make([]byte, 1<<20)
						for j := 0; j < len(b); j += 4096 {
							b[j] = 1
						}
						mu.Lock()
						hoard = append(hoard, b)
						mu.Unlock()
					}
					return provider.Instance{"ReturnValue": 0}, nil
				},
				"Threads": func(ctx context.Context, r *provider.Request) (provider.Instance, error) {
					n, _ := r.In.Int("Count")
					var wg sync.WaitGroup
					for range n {
						wg.Add(1)
						go func() {
							runtime.LockOSThread() // one more thread each
							wg.Done()
							select {}
						}()
					}
					wg.Wait()
					return provider.Instance{"ReturnValue": 0}, nil
				},
				"Files": func(ctx context.Context, r *provider.Request) (provider.Instance, error) {
					n, _ := r.In.Int("Count")
					for range n {
						if _, err := os.Open("/dev/null"); err != nil {
							return nil, err
						}
					}
					return provider.Instance{"ReturnValue": 0}, nil
				},
				"Whoami": func(ctx context.Context, r *provider.Request) (provider.Instance, error) {
					u, _ := user.Current()
					mu.Lock()
					q := strings.Join(queries, ";")
					mu.Unlock()
					return provider.Instance{"ReturnValue": 0, "Pid": os.Getpid(), "User": u.Username, "Queries": q}, nil
				},
			},
		},
		"Test_Assoc": {
			Enumerate: func(ctx context.Context, r *provider.Request, send func(provider.Instance) error) error {
				return send(provider.Instance{"Item": `Test_Item.Name="a"`, "Repo": `Test_Repo.Name="r"`})
			},
		},
		"Test_Many": {
			Enumerate: func(ctx context.Context, r *provider.Request, send func(provider.Instance) error) error {
				for i := 0; i < many; i++ {
					if err := send(provider.Instance{"Id": i, "Payload": "some text to make the item a bit larger than a key"}); err != nil {
						return err
					}
				}
				return nil
			},
		},
	}}
}

// chainProvider is the top of a put chain: it logs every put and delete
// to $WBEMD_TEST_LOG and vetoes names starting with "veto".
func chainProvider() *provider.Provider {
	logf := func(format string, args ...any) error {
		f, err := os.OpenFile(os.Getenv("WBEMD_TEST_LOG"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = fmt.Fprintf(f, format+"\n", args...)
		return err
	}
	return &provider.Provider{Name: "ChainTop", Classes: map[string]*provider.Class{
		"Chain_Top": {
			Put: func(ctx context.Context, r *provider.Request) (provider.Instance, error) {
				name := r.Instance.String("Name")
				if err := logf("top put %s", name); err != nil {
					return nil, err
				}
				if strings.HasPrefix(name, "veto") {
					return nil, cim.Errorf(cim.EVetoPut, "the top provider vetoes %s", name)
				}
				return nil, nil
			},
			Delete: func(ctx context.Context, r *provider.Request) error {
				return logf("top delete %s", r.Keys.String("Name"))
			},
		},
	}}
}

// testSchema is the MOF of the test classes and their registrations;
// %[1]s is the provider binary.
const testSchema = `#pragma namespace("root/cimv2")
[Dynamic, Provider("TestItems")]
class Test_Item {
	[Key] string Name;
	uint32 Size;
	string Note;
	[Static] uint32 Echo([In] string Text, [Out] string Said, [Out] uint32 Length);
	uint32 Grow([In] uint32 By, [Out] uint32 NewSize);
	[Static] uint32 Hang([In] boolean IgnoreCancel);
	[Static] uint32 Crash();
	[Static] uint32 Alloc([In] uint32 MiB);
	[Static] uint32 Threads([In] uint32 Count);
	[Static] uint32 Files([In] uint32 Count);
	[Static] uint32 Whoami([Out] uint32 Pid, [Out] string User, [Out] string Queries);
};
[Dynamic, Provider("TestItems")]
class Test_Many {
	[Key] uint32 Id;
	string Payload;
};
class Test_Repo { [Key] string Name; };
instance of Test_Repo { Name = "r"; };
instance of Test_Repo { Name = "s"; };
[Association, Dynamic, Provider("TestItems")]
class Test_Assoc { [Key] Test_Item ref Item; [Key] Test_Repo ref Repo; };
[Association]
class Test_StaticLink { [Key] Test_Item ref Item; [Key] Test_Repo ref Repo; };
instance of Test_StaticLink { Item = "Test_Item.Name=\"b\""; Repo = "Test_Repo.Name=\"s\""; };
[Dynamic, Provider("TestOther")]
class Test_Other {
	[Key] string Name;
};
instance of __Win32Provider as $P {
	Name = "TestItems";
	Command = "%[1]s";
	Environment = {"WBEMD_TEST_PROVIDER=items"};
};
instance of __InstanceProviderRegistration {
	provider = $P;
	SupportsGet = TRUE;
	SupportsPut = TRUE;
	SupportsDelete = TRUE;
	QuerySupportLevels = {"WQL:UnarySelect"};
};
instance of __MethodProviderRegistration { provider = $P; };
instance of __Win32Provider as $O {
	Name = "TestOther";
	Command = "%[1]s";
	Environment = {"WBEMD_TEST_PROVIDER=other"};
};
instance of __InstanceProviderRegistration { provider = $O; SupportsGet = TRUE; };
`

var _ = time.Second
