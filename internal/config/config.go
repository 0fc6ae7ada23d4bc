// Package config loads airlock's versioned configuration file (YAML, or JSON) and ToolHive
// permission profiles, strictly: every error names the file, line, entry and a fix.
package config

import "github.com/airlock-sh/airlock/internal/policy"

// File is a loaded, validated configuration.
type File struct {
	Path     string
	Version  int
	Servers  map[string]*Server
	Codemode Codemode
}

// Server is one MCP server: the command that runs it, its environment and its network policy.
type Server struct {
	Name    string
	Command string
	Args    []string
	Env     map[string]string
	// Spec is the network policy as written (after ${VAR} templates and profile imports are
	// expanded); Policy is it compiled.
	Spec   policy.Spec
	Policy *policy.Policy
}

// Codemode is the code-mode section: the policy for code-mode fetch.
type Codemode struct {
	Spec   policy.Spec
	Policy *policy.Policy
}
