package codemode

import (
	"os"
	"testing"
)

// testRoleEnv makes the test binary, started as a worker, play a part in a test instead.
const testRoleEnv = "AIRLOCK_CODEMODE_TEST_ROLE"

func TestMain(m *testing.M) {
	if role := os.Getenv(testRoleEnv); role != "" {
		os.Exit(runTestRole(role))
	}
	WorkerMain() // the workers of this package's tests are this test binary, re-executed
	os.Exit(m.Run())
}
