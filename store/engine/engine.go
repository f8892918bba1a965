// Package engine opens the store engine a URL names. It is the one place
// where the daemon and the command line choose an engine:
//
//	bolt:DIR       the embedded engine (store/bolt) on the repository
//	               directory DIR, created if needed; the store is the file
//	               DIR/repository.db and its write-ahead log beside it
//	bolt:///DIR    the same, for an absolute DIR
//	DIR            a plain directory path: the same as bolt:DIR
//	etcd://...     an etcd cluster (not built in yet)
//
// A directory whose name looks like a URL scheme ("name:...") is written
// with a path prefix: ./name:...
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/wbemd/wbemd/store"
	"github.com/wbemd/wbemd/store/bolt"
	"github.com/wbemd/wbemd/store/etcd"
)

// BoltFile is the store file inside a bolt repository directory.
const BoltFile = "repository.db"

// The engines a URL can name.
const (
	Bolt = "bolt"
	Etcd = "etcd"
)

// ErrNotBuiltIn is wrapped by Open's error for an engine this build does
// not include.
var ErrNotBuiltIn = errors.New("engine not built in")

// Options configure the engine Open opens.
type Options struct {
	// Logger receives the engine's logs (default slog.Default()).
	Logger *slog.Logger
	// FeedRetention is how many revisions of change feed the embedded
	// engine keeps (bolt.Options.FeedRetention; 0 for its default). etcd
	// keeps what its own compaction leaves.
	FeedRetention int64
}

// Spec is a parsed store URL.
type Spec struct {
	Engine string // Bolt or Etcd
	Dir    string // Bolt: the repository directory
	URL    string // the URL as given
}

// String returns the URL in its canonical form (bolt:DIR for a plain
// directory).
func (s Spec) String() string {
	if s.Engine == Bolt && strings.HasPrefix(s.Dir, "//") {
		return "bolt://" + s.Dir // bolt:/// and the absolute path's own slashes
	}
	if s.Engine == Bolt {
		return "bolt:" + s.Dir
	}
	return s.URL
}

// Parse parses a store URL (see the package documentation) without
// opening anything.
func Parse(url string) (Spec, error) {
	want := "want bolt:DIR, a directory, or etcd://HOST:PORT,.../PREFIX"
	if url == "" {
		return Spec{}, fmt.Errorf("empty store URL (%s)", want)
	}
	scheme, rest, ok := strings.Cut(url, ":")
	if !ok || !isScheme(scheme) {
		return Spec{Engine: Bolt, Dir: url, URL: url}, nil
	}
	switch strings.ToLower(scheme) {
	case Bolt:
		if strings.HasPrefix(rest, "//") {
			if !strings.HasPrefix(rest, "///") {
				return Spec{}, fmt.Errorf("store URL %q: bolt takes a directory, not a host (write bolt:DIR or bolt:///ABSOLUTE/DIR)", url)
			}
			rest = rest[2:]
		}
		if rest == "" {
			return Spec{}, fmt.Errorf("store URL %q: no directory (write bolt:DIR)", url)
		}
		return Spec{Engine: Bolt, Dir: rest, URL: url}, nil
	case Etcd:
		if !strings.HasPrefix(rest, "//") || len(rest) == 2 {
			return Spec{}, fmt.Errorf("store URL %q: no endpoints (write etcd://HOST:PORT,.../PREFIX)", url)
		}
		return Spec{Engine: Etcd, URL: url}, nil
	}
	return Spec{}, fmt.Errorf("store URL %q: unknown engine %q (%s; write ./%s for a directory of that name)", url, scheme, want, url)
}

// isScheme reports whether s has the syntax of a URL scheme (RFC 3986).
func isScheme(s string) bool {
	if s == "" || !isLetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isLetter(c) && !('0' <= c && c <= '9') && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// Open opens the store url names. For bolt it creates the repository
// directory if needed; a repository another process has open fails at
// once with an error wrapping bolt.ErrInUse.
func Open(ctx context.Context, url string, opts Options) (store.Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	spec, err := Parse(url)
	if err != nil {
		return nil, err
	}
	switch spec.Engine {
	case Bolt:
		if err := os.MkdirAll(spec.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("repository %s: %w", spec.Dir, err)
		}
		db, err := bolt.Open(filepath.Join(spec.Dir, BoltFile), bolt.Options{Logger: opts.Logger, FeedRetention: opts.FeedRetention})
		if err != nil {
			return nil, err // it names the file
		}
		return db, nil
	case Etcd:
		s, err := etcd.Open(ctx, url, etcd.Options{Logger: opts.Logger})
		if err != nil {
			return nil, err // not a nil *etcd.Store inside a non-nil store.Store
		}
		return s, nil
	default:
		return nil, fmt.Errorf("store URL %q: the %s engine: %w in this wbemd", url, spec.Engine, ErrNotBuiltIn)
	}
}
