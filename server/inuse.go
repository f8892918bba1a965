package server

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/wbemd/wbemd/store/bolt"
)

// openError explains why the repository did not open. One that another
// process holds (bolt.ErrInUse) names that process when it is a wbemd
// answering on the repository's socket.
func openError(cfg Config, err error) error {
	if !errors.Is(err, bolt.ErrInUse) {
		return fmt.Errorf("server: open repository: %w", err)
	}
	sock := cfg.Socket
	if sock == "" || sock == Off {
		sock = filepath.Join(cfg.Repo, SocketFile)
	}
	if c, derr := net.DialTimeout("unix", sock, time.Second); derr == nil {
		c.Close()
		return fmt.Errorf("server: the repository %s is in use: another wbemd serves it (its socket %s answers); stop it first, or give this one another --repo: %w", cfg.Repo, sock, err)
	}
	return fmt.Errorf("server: the repository %s is in use by another process (a wbemd without its socket at %s, or a wbem command working on it): %w", cfg.Repo, sock, err)
}
