// Package config loads airlock's versioned configuration file (YAML, or JSON) and ToolHive
// permission profiles, strictly: every error names the file, line, entry and a fix.
package config

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/airlock-sh/airlock/internal/binding"
	"github.com/airlock-sh/airlock/internal/policy"
)

// Version is the only config file version this package reads.
const Version = 1

// File is a loaded, validated configuration. Everything in it has been checked and every
// policy compiled: nothing derived from it fails later.
type File struct {
	// Path is the file name the config was read from, as given to Parse or Load.
	Path    string
	Version int
	// Servers by name; never nil.
	Servers  map[string]*Server
	Codemode Codemode
	// Bindings by name, validated (binding.Declaration.Validate); never nil.
	Bindings map[string]*binding.Declaration
}

// Server is one MCP server: the command that runs it, its environment and its network policy.
type Server struct {
	Name    string
	Command string
	Args    []string
	// Env is the server's environment as written; never nil.
	Env map[string]string
	// ToolHiveProfile is the path of the imported ToolHive profile as it was read (relative
	// paths are joined to the config file's directory); empty when none.
	ToolHiveProfile string
	// Spec is the network policy as written (after ${VAR} templates and profile imports are
	// expanded); Policy is it compiled. A server without a network section denies everything.
	Spec   policy.Spec
	Policy *policy.Policy
}

// Argv is the server's command line: Command followed by Args.
func (s *Server) Argv() []string { return append([]string{s.Command}, s.Args...) }

// Environ is the server's Env as NAME=VALUE pairs, sorted by name.
func (s *Server) Environ() []string {
	out := make([]string, 0, len(s.Env))
	for _, k := range slices.Sorted(maps.Keys(s.Env)) {
		out = append(out, k+"="+s.Env[k])
	}
	return out
}

// Codemode is the code-mode section: the policy for code-mode fetch.
type Codemode struct {
	// Spec is DefaultCodemodeSpec when the file has no codemode.network, else that section as
	// written.
	Spec   policy.Spec
	Policy *policy.Policy
}

// DefaultCodemodeSpec is the code-mode policy when the file does not set one: the public
// internet on any port, and nothing special-purpose (loopback, private ranges, metadata).
func DefaultCodemodeSpec() policy.Spec {
	return policy.Spec{AllowPublicInternet: true}
}

// Parse decodes and validates a config file. name is used in error messages and to resolve
// relative paths. Parse reads no files: a config that imports a ToolHive profile fails with an
// error saying so; use ParseWithReader or Load for those.
//
// The error, when not nil, joins one *Error per problem found (at most MaxErrors).
func Parse(name string, data []byte) (*File, error) {
	return ParseWithReader(name, data, nil)
}

// ParseWithReader is Parse with a function that reads the files the config refers to
// (toolhive_profile), such as os.ReadFile. Relative paths are joined to the directory of name.
func ParseWithReader(name string, data []byte, readFile func(path string) ([]byte, error)) (*File, error) {
	d := &decoder{readFile: readFile, dir: filepath.Dir(name)}
	d.file = name
	f := d.decodeFile(data)
	if err := d.err(); err != nil {
		return nil, err
	}
	return f, nil
}

// Load reads, decodes and validates the config file at path, and the profiles it imports.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return ParseWithReader(path, data, os.ReadFile)
}

// Server returns the server called name, or an error listing the servers the file defines.
func (f *File) Server(name string) (*Server, error) {
	if s, ok := f.Servers[name]; ok {
		return s, nil
	}
	names := f.ServerNames()
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: no server %q: the config defines no servers; add it under servers:", f.Path, name)
	}
	return nil, fmt.Errorf("%s: no server %q; the servers in this config are: %s", f.Path, name, strings.Join(names, ", "))
}

// ServerNames returns the names of the servers, sorted.
func (f *File) ServerNames() []string {
	names := make([]string, 0, len(f.Servers))
	for n := range f.Servers {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// decoder decodes one config file.
type decoder struct {
	walker
	readFile func(string) ([]byte, error)
	dir      string
	// bindingKeys are the key nodes of the bindings, by name.
	bindingKeys map[string]*yaml.Node
}

var serverName = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

func (d *decoder) decodeFile(data []byte) *File {
	root, err := readDocument(data, &d.errorList)
	if err == errEmpty {
		d.add(1, 1, "", "empty config; start with `version: 1`")
		return nil
	}
	if err != nil {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		d.errorf(root, "", "the top level must be a mapping (version: 1, servers: ...), not %s", describe(root))
		return nil
	}
	fields, _ := d.mapping(root, "", []string{"version", "servers", "codemode", "bindings"})
	f := &File{Path: d.file, Version: Version, Servers: map[string]*Server{}, Bindings: map[string]*binding.Declaration{}}

	i := slices.IndexFunc(fields, func(fl field) bool { return fl.name == "version" })
	if i < 0 {
		d.errorf(root, "version", "missing; add `version: 1` at the top of the file")
	} else if v, ok := d.integer(fields[i].value, "version"); ok && v != Version {
		// A file of another version has another schema: anything else said about it would be
		// noise.
		d.errs = nil
		d.errorf(fields[i].value, "version", "unsupported version %d; this airlock reads version %d only: write `version: %d`", v, Version, Version)
		return nil
	}

	codemodeSet := false
	for _, fl := range fields {
		switch fl.name {
		case "servers":
			d.servers(f, fl)
		case "codemode":
			codemodeSet = d.codemode(f, fl)
		case "bindings":
			d.bindings(f, fl)
		}
	}
	d.checkBindingNames(f)
	if !codemodeSet {
		f.Codemode.Spec = DefaultCodemodeSpec()
		p, err := policy.Compile(f.Codemode.Spec)
		if err != nil {
			d.errorf(root, "codemode", "the default code-mode policy does not compile: %v; report this as a bug", err)
		}
		f.Codemode.Policy = p
	}
	return f
}

func (d *decoder) servers(f *File, fl field) {
	servers, ok := d.mapping(fl.value, fl.path, nil)
	if !ok {
		return
	}
	for _, s := range servers {
		if !serverName.MatchString(s.name) {
			d.errorf(s.key, fl.path, "%q is not a valid server name; use letters, digits, '_', '.' and '-' only (the name becomes the proxy user name)", s.name)
			continue
		}
		if srv := d.server(s); srv != nil {
			f.Servers[s.name] = srv
		}
	}
}

func (d *decoder) server(s field) *Server {
	fields, ok := d.mapping(s.value, s.path, []string{"command", "args", "env", "network"})
	if !ok {
		return nil
	}
	srv := &Server{Name: s.name, Env: map[string]string{}}
	var network *field
	hasCommand := false
	for _, fl := range fields {
		switch fl.name {
		case "command":
			hasCommand = true
			if c, ok := d.str(fl.value, fl.path); ok {
				if strings.TrimSpace(c) == "" {
					d.errorf(fl.value, fl.path, "empty; write the program that starts the server (command: npx)")
				}
				srv.Command = c
			}
		case "args":
			srv.Args, _, _ = d.strList(fl.value, fl.path)
		case "env":
			d.env(srv, fl)
		case "network":
			network = &fl
		}
	}
	if !hasCommand {
		d.errorf(s.key, s.path, "command is missing; add the program that starts the server (command: npx)")
	}
	var ns netSection
	if network != nil {
		ns = d.network(*network, s.path, srv.Env)
	}
	srv.Spec, srv.ToolHiveProfile = ns.spec, ns.profile
	srv.Policy = d.compile(ns, s.key, s.path)
	return srv
}

func (d *decoder) env(srv *Server, fl field) {
	vars, _ := d.mapping(fl.value, fl.path, nil)
	for _, v := range vars {
		if v.name == "" || strings.ContainsAny(v.name, "=\x00") {
			d.errorf(v.key, v.path, "%q is not an environment variable name; use letters, digits and '_'", v.name)
			continue
		}
		if !d.ok(v.value, v.path) {
			continue
		}
		if v.value.Kind == yaml.ScalarNode {
			switch v.value.ShortTag() {
			case "!!str", "!!int", "!!float", "!!bool", "!!timestamp":
				srv.Env[v.name] = v.value.Value
				continue
			case "!!null":
				d.errorf(v.value, v.path, "no value; write \"\" for an empty value")
				continue
			}
		}
		d.errorf(v.value, v.path, "must be a string, not %s", describe(v.value))
	}
}

// codemode decodes the codemode section and reports whether it set the code-mode policy.
func (d *decoder) codemode(f *File, fl field) bool {
	fields, ok := d.mapping(fl.value, fl.path, []string{"network"})
	if !ok {
		return true // an error was reported; the file will not load
	}
	for _, n := range fields {
		if isNull(n.value) {
			continue
		}
		ns := d.network(n, "", nil)
		f.Codemode.Spec = ns.spec
		f.Codemode.Policy = d.compile(ns, n.key, n.path)
		return true
	}
	return false
}
