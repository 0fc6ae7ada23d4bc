// Package cli is airlock's command line: it reads flags, files and the environment, runs the
// subcommand and turns the outcome into an exit code. Nothing imports it but cmd/airlock.
package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Exit codes shared by every subcommand.
const (
	exitOK     = 0
	exitDenied = 1 // a destination was denied (check)
	exitUsage  = 2 // bad flags, targets, entries or config
	// exitRunFailed is airlock run's own failure (the sandbox could not be set up, the command
	// could not be started), kept apart from the command's exit codes as docker run and env do.
	exitRunFailed = 125
)

// exitError carries an exit code out of a cobra command; its message (if any) has already been
// printed when printed is true.
type exitError struct {
	code    int
	msg     string
	printed bool
}

func (e *exitError) Error() string { return e.msg }

func usageErr(format string, args ...any) error {
	return &exitError{code: exitUsage, msg: fmt.Sprintf(format, args...)}
}

// Main runs airlock with args (without the program name) and returns the exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if !ee.printed && ee.msg != "" {
			fmt.Fprintln(stderr, "airlock: "+ee.msg)
		}
		return ee.code
	}
	// Flag parsing and unknown commands: cobra's own errors are usage errors.
	fmt.Fprintln(stderr, "airlock: "+err.Error())
	fmt.Fprintln(stderr, "Run 'airlock --help' for usage.")
	return exitUsage
}

func newRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "airlock",
		Short: "Give MCP servers and agent-written code exactly the network they were granted",
		Long: `airlock is a network-isolation layer for MCP servers and agent-written code.
Untrusted code reaches only the destinations it was granted: no LAN, no localhost,
no cloud metadata, no exfiltration through DNS. Every decision is explainable.

Start with 'airlock check --help' to see how destinations are judged.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErr("%v\nRun '%s --help' for usage.", err, c.CommandPath())
	})
	root.AddCommand(newCheckCmd(), newProxyCmd(), newRunCmd(), newExecCmd(), newApproveCmd(), newSecretCmd(), newGatewayCmd())
	return root
}
