package provhost

import (
	"os/user"
	"testing"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
)

// TestCallerOf: a call without an authenticated principal is refused
// before it reaches a host; a principal gets the Unix account of its
// name, or none.
func TestCallerOf(t *testing.T) {
	s := &Supervisor{}
	if _, err := s.callerOf(cimom.Principal{}, "P"); cim.StatusOf(err) != cim.EAccessDenied {
		t.Errorf("no principal: %v, want WBEM_E_ACCESS_DENIED", err)
	}
	c, err := s.callerOf(cimom.Principal{Name: "root"}, "P")
	if err != nil || !c.Admin || c.Unix == nil || c.Unix.UID != 0 || c.Unix.Name != "root" {
		t.Errorf("root: %+v %v", c, err)
	}
	c, err = s.callerOf(cimom.Principal{Name: "no-such-account-here", Groups: []string{cimom.GroupAdministrators}, Remote: true}, "P")
	if err != nil || !c.Admin || !c.Remote || c.Unix != nil {
		t.Errorf("a user without an account: %+v %v", c, err)
	}
	if u, err := user.Lookup("nobody"); err == nil {
		c, _ = s.callerOf(cimom.Principal{Name: "nobody"}, "P")
		if c.Admin || c.Unix == nil || c.Unix.Name != "nobody" || c.Unix.Home != u.HomeDir {
			t.Errorf("nobody: %+v", c)
		}
	}
}
