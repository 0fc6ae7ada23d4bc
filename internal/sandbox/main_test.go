package sandbox

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	HelperMain() // the sandbox's own stages are this test binary, re-executed
	if role := os.Getenv(testRoleEnv); role != "" {
		os.Exit(runTestRole(role))
	}
	code := m.Run()
	cleanupTestFiles()
	os.Exit(code)
}
