// Package cli implements the wbem command line: verbs that read and write a
// CIM repository through cimom, in local mode against a repository
// directory.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/wbemd/wbemd/auth"
	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/client"
	"github.com/wbemd/wbemd/internal/admin"
	"github.com/wbemd/wbemd/internal/version"
	"github.com/wbemd/wbemd/server"
	"github.com/wbemd/wbemd/store"
	"github.com/wbemd/wbemd/store/engine"
)

// repoFile is the name of the store file inside a repository directory.
const repoFile = "repository.db"

// usageError marks a mistake in how wbem was called (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// app is one invocation of wbem: its global flags, its streams, and the
// repository it opened (lazily, on the first verb that needs it).
type app struct {
	repo      string
	store     string // the store's URL ("" for bolt:<repo>)
	namespace string
	output    string
	url       string // a server to talk to over CIM-XML instead of the repository
	user      string
	insecure  bool
	cacert    string        // PEM file of the CAs that sign the --url server's certificate
	locale    string        // WMI locale (MS_409) of amended qualifiers, "" for none
	semisync  time.Duration // poll semisynchronous calls this often; 0: synchronous calls

	stdin          io.Reader
	stdout, stderr io.Writer

	db       store.Store
	om       *cimom.CIMOM
	attached bool // om serves the administration classes (admin.Attach)

	sockOnce sync.Once
	sock     string // see socket
}

// Main runs wbem with args and returns the process exit status: 0 on
// success, 1 on a WBEM or I/O failure, 2 on a usage error, 3 on a MOF
// syntax error (as mofcomp).
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if cerr := a.close(context.Background()); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil {
		return 0
	}
	var ce *cim.Error
	var ue *usageError
	var xe *exitError
	switch {
	case errors.As(err, &xe):
		fmt.Fprintf(stderr, "wbem: %s\n", xe.msg)
		return xe.code
	case errors.As(err, &ce):
		fmt.Fprintf(stderr, "wbem: %s\n", errorText(ce))
		return 1
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "wbem: %s\nRun 'wbem --help' for usage.\n", ue.msg)
		return 2
	case isRunError(err):
		fmt.Fprintf(stderr, "wbem: %v\n", err)
		return 1
	default:
		// Errors cobra raises itself: unknown verbs, flags or arguments.
		fmt.Fprintf(stderr, "wbem: %v\nRun 'wbem --help' for usage.\n", err)
		return 2
	}
}

// runError marks a failure that is not a WBEM status (a file that cannot be
// read, a repository that cannot be opened): exit status 1.
type runError struct{ err error }

func (e *runError) Error() string { return e.err.Error() }
func (e *runError) Unwrap() error { return e.err }

func isRunError(err error) bool {
	var re *runError
	return errors.As(err, &re)
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "wbem",
		Short:         "Read and write a wbemd CIM repository",
		Long:          "wbem reads and writes namespaces, classes and instances of a wbemd CIM repository,\nwith WMI's semantics and WBEM status codes.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usagef("%v", err) })
	pf := root.PersistentFlags()
	pf.StringVar(&a.repo, "repo", os.Getenv("WBEM_REPO"), "repository directory (default $WBEM_REPO)")
	pf.StringVar(&a.store, "store", os.Getenv("WBEM_STORE"), "the repository's store URL: bolt:DIR or etcd://HOST:PORT,.../PREFIX (default bolt:<repo>; $WBEM_STORE)")
	pf.StringVarP(&a.namespace, "namespace", "n", "root/cimv2", "namespace")
	pf.StringVarP(&a.output, "output", "o", "table", "output format: table, json or mof")
	pf.StringVar(&a.url, "url", os.Getenv("WBEM_URL"), "a CIM-XML server to use instead of --repo (password in $WBEM_PASSWORD)")
	pf.StringVar(&a.user, "user", os.Getenv("USER"), "user name for --url")
	pf.BoolVar(&a.insecure, "insecure", false, "with --url https://...: do not check the server's certificate")
	pf.StringVar(&a.cacert, "cacert", os.Getenv("WBEM_CACERT"), "with --url https://...: the PEM file of the CAs that sign the server's certificate (default the system's; $WBEM_CACERT)")
	pf.StringVar(&a.locale, "locale", "", "read and write localized objects in this WMI locale (MS_409): WBEM_FLAG_USE_AMENDED_QUALIFIERS")
	pf.DurationVar(&a.semisync, "semisync", 0, "make semisynchronous calls (WBEM_FLAG_RETURN_IMMEDIATELY) and poll them at this interval (100ms), showing each WBEM_S_TIMEDOUT")
	root.AddCommand(
		a.versionCommand(),
		a.nsCommand(),
		a.classesCommand(),
		a.getCommand(),
		a.putCommand(),
		a.deleteCommand(),
		a.enumCommand(),
		a.callCommand(),
		a.repoCommand(),
		a.mofcompCommand(),
		a.queryCommand(),
		a.watchCommand(),
		a.userCommand(),
		a.groupCommand(),
		a.securityCommand(),
		a.benchCommand(),
		a.providerCommand(),
	)
	return root
}

// args returns a cobra argument check that reports a usage error.
func args(min, max int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, as []string) error {
		if len(as) < min || (max >= 0 && len(as) > max) {
			return usagef("%s: expected %s", cmd.CommandPath(), what)
		}
		return nil
	}
}

// open opens the repository (creating it if the directory is new).
func (a *app) open(ctx context.Context) (*cimom.CIMOM, error) {
	if a.om != nil {
		return a.om, nil
	}
	if a.url != "" {
		return nil, usagef("this verb works on a repository directly; it cannot go through --url")
	}
	if a.repo == "" && a.store == "" {
		return nil, usagef("no repository: give --repo DIR or set WBEM_REPO")
	}
	if sock := a.socket(); sock != "" {
		return nil, &runError{fmt.Errorf("a wbemd serves %s (socket %s): this verb needs the repository itself; stop wbemd first", a.repo, sock)}
	}
	switch a.output {
	case "table", "json", "mof":
	default:
		return nil, usagef("unknown output format %q (want table, json or mof)", a.output)
	}
	url := a.store
	if url == "" {
		url = "bolt:" + a.repo
	}
	db, err := engine.Open(ctx, url, engine.Options{})
	if err != nil {
		return nil, &runError{fmt.Errorf("open repository %s: %w", url, err)}
	}
	om, err := cimom.Open(ctx, db, cimom.Options{})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open repository %s: %w", a.repo, err)
	}
	a.db, a.om = db, om
	return om, nil
}

// services connects to the namespace of -n: through --url, through the
// local socket of a wbemd serving --repo (as the calling user, by its
// credentials), or by opening the repository (as the user running wbem).
func (a *app) services(ctx context.Context) (cimom.Services, error) {
	if a.locale != "" && !strings.HasPrefix(strings.ToLower(a.locale), "ms_") {
		return nil, usagef("--locale %s: give a WMI locale, MS_ and the hexadecimal LCID (MS_409 for en-US)", a.locale)
	}
	svc, err := a.connect(ctx, a.namespace, localPrincipal())
	if err != nil {
		return nil, err
	}
	return a.style(svc), nil
}

// adminServices connects to the administration namespace (package admin)
// as services does; on a repository it opens itself, as an administrator,
// since whoever can write the repository's files can change anything.
func (a *app) adminServices(ctx context.Context) (cimom.Services, error) {
	return a.connect(ctx, admin.Namespace, localAdmin())
}

// connect connects to namespace ns through --url or the socket, else in
// process as local, with the administration served as by wbemd.
func (a *app) connect(ctx context.Context, ns string, local cimom.Principal) (cimom.Services, error) {
	if a.url != "" {
		return client.Connect(ctx, a.url, ns, a.clientOptions())
	}
	if sock := a.socket(); sock != "" {
		return client.Connect(ctx, "http://localhost", ns, client.Options{Socket: sock})
	}
	om, err := a.open(ctx)
	if err != nil {
		return nil, err
	}
	if !a.attached {
		if err := admin.Attach(ctx, om, a.db, auth.New(a.db), admin.Options{Version: version.Get().Version, TempDir: a.repo}); err != nil {
			return nil, err
		}
		a.attached = true
	}
	return om.Connect(ctx, ns, local)
}

// clientOptions are the options of a connection to --url.
func (a *app) clientOptions() client.Options {
	return client.Options{User: a.user, Password: os.Getenv("WBEM_PASSWORD"), Insecure: a.insecure, CAFile: a.cacert}
}

// socket returns the socket of a wbemd serving --repo, or "" when none
// answers there. It looks once per run.
func (a *app) socket() string {
	a.sockOnce.Do(func() {
		if a.repo == "" {
			return
		}
		path := filepath.Join(a.repo, server.SocketFile)
		c, err := net.DialTimeout("unix", path, time.Second)
		if err != nil {
			return
		}
		c.Close()
		a.sock = path
	})
	return a.sock
}

func (a *app) close(ctx context.Context) error {
	var err error
	if a.om != nil {
		err = a.om.Close(ctx)
	}
	if a.db != nil {
		if cerr := a.db.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// localAdmin is the user running wbem as an administrator.
func localAdmin() cimom.Principal {
	p := localPrincipal()
	p.Groups = append(p.Groups, cimom.GroupAdministrators)
	return p
}

// localPrincipal identifies the user running wbem. Whoever can open the
// repository file directly is trusted as that user; root is the
// administrator.
func localPrincipal() cimom.Principal {
	name := os.Getenv("USER")
	if os.Geteuid() == 0 {
		name = "root"
	}
	if name == "" {
		name = fmt.Sprintf("uid:%d", os.Geteuid())
	}
	return cimom.Principal{Name: name}
}

// errorText is a WBEM failure on one line, with every field of its
// extended status: "WBEM_E_NOT_FOUND (0x80041002): ... [operation
// GetObject, parameter X, provider wbemd]".
func errorText(e *cim.Error) string {
	var fields []string
	for _, f := range []struct{ name, v string }{{"operation", e.Operation}, {"parameter", e.Parameter}, {"provider", e.Provider}} {
		if f.v != "" {
			fields = append(fields, f.name+" "+f.v)
		}
	}
	if len(fields) == 0 {
		return e.Error()
	}
	return e.Error() + " [" + strings.Join(fields, ", ") + "]"
}
