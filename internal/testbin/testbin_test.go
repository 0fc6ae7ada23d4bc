package testbin

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestBuildOnceAndRun(t *testing.T) {
	p1, err := Build("./testdata/hello")
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := Build("./testdata/hello")
	if p1 != p2 {
		t.Errorf("built twice: %s, %s", p1, p2)
	}
	out, err := exec.Command(p1).Output()
	if err != nil || strings.TrimSpace(string(out)) != "hello from testbin" {
		t.Errorf("ran %s: %q, %v", p1, out, err)
	}
	if _, err := Build("./testdata/nosuch"); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("a package that does not exist: err = %v", err)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	Cleanup()
	os.Exit(code)
}
