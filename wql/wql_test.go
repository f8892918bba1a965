package wql

import (
	"strings"
	"testing"
)

func TestLike(t *testing.T) {
	cases := []struct {
		s, p string
		want bool
	}{
		{"Samsung 980", "sam%", true}, {"Samsung 980", "%980", true}, {"Samsung 980", "%SUNG%", true},
		{"abc", "a_c", true}, {"ac", "a_c", false}, {"abc", "[a-c]bc", true}, {"dbc", "[a-c]bc", false},
		{"dbc", "[^a-c]bc", true}, {"abc", "[^a-c]bc", false}, {"a_c", "a[_]c", true}, {"abc", "a[_]c", false},
		{"a%c", "a[%]c", true}, {"a[c", "a[[]c", true}, {"b", "[a=c]", true}, {"", "%", true}, {"", "_", false},
		{"x", "", false}, {"", "", true}, {"abc", "%%%c", true}, {"a[", "a[", true}, {"ab", "[ab][ab]", true},
		{strings.Repeat("a", 200), strings.Repeat("%a", 60) + "b", false},
	}
	for _, c := range cases {
		if got := Like(c.s, c.p); got != c.want {
			t.Errorf("Like(%q, %q) = %v", c.s, c.p, got)
		}
	}
}
