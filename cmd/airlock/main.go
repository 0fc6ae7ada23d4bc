// Command airlock gives MCP servers and agent-written code exactly the network they were granted.
package main

import (
	"os"

	"github.com/airlock-sh/airlock/internal/cli"
	"github.com/airlock-sh/airlock/internal/codemode"
	"github.com/airlock-sh/airlock/internal/sandbox"
)

func main() {
	sandbox.HelperMain() // when this process is airlock run's in-namespace helper, it never returns
	codemode.WorkerMain()
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
