package isolate

import (
	"slices"
	"testing"
)

func TestMergeEnv(t *testing.T) {
	for _, c := range []struct {
		name        string
		base, extra []string
		want        []string
	}{
		{"empty", nil, nil, []string{}},
		{"add", []string{"A=1"}, []string{"B=2"}, []string{"A=1", "B=2"}},
		{"replace", []string{"A=1", "HTTP_PROXY=http://corp:8080", "B=2"}, []string{"HTTP_PROXY=http://127.0.0.1:3128"}, []string{"A=1", "B=2", "HTTP_PROXY=http://127.0.0.1:3128"}},
		{"later extra wins", []string{"A=1"}, []string{"A=2", "A=3"}, []string{"A=3"}},
		{"empty value and no =", []string{"NO_PROXY=x", "ODD"}, []string{"NO_PROXY=", "ODD=1"}, []string{"NO_PROXY=", "ODD=1"}},
	} {
		if got := MergeEnv(c.base, c.extra...); !slices.Equal(got, c.want) {
			t.Errorf("%s: MergeEnv(%q, %q) = %q, want %q", c.name, c.base, c.extra, got, c.want)
		}
	}
}

// TestProxyEnv: every proxy variable a client might read points into the sandbox, and
// NO_PROXY is empty so that nothing bypasses airlock.
func TestProxyEnv(t *testing.T) {
	env := ProxyEnv()
	for _, want := range []string{"HTTP_PROXY=http://127.0.0.1:3128", "https_proxy=http://127.0.0.1:3128",
		"ALL_PROXY=socks5h://127.0.0.1:1080", "NO_PROXY=", "no_proxy=", "NODE_USE_ENV_PROXY=1"} {
		if !slices.Contains(env, want) {
			t.Errorf("ProxyEnv lacks %s: %q", want, env)
		}
	}
}
