package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// offered is a downstream tool as the gateway offers it.
type offered struct {
	server, tool string // the server and the tool's own name
	def          []byte // the offered definition as JSON, to notice changes
}

// maxToolName is MCP's limit on a tool's name.
const maxToolName = 128

// checkServerName accepts server names that make valid tool-name prefixes.
func checkServerName(name string) error {
	if name == "" || !validToolName(name+Separator+"x") || strings.Contains(name, Separator) {
		return fmt.Errorf("gateway: server name %q cannot prefix tool names: use letters, digits, '-' and '_' (no %q)", name, Separator)
	}
	return nil
}

// validToolName is MCP's rule for tool names: 1 to 128 of A-Z a-z 0-9 _ - . (the SDK warns
// about anything else, and clients refuse it).
func validToolName(s string) bool {
	if s == "" || len(s) > maxToolName {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// syncTools makes the offered tools those of the servers as last listed, and run_code's
// description match them.
func (g *Gateway) syncTools() {
	g.toolsMu.Lock()
	defer g.toolsMu.Unlock()
	if g.isClosed() {
		return
	}
	want := map[string]*offered{}
	defs := map[string]*mcp.Tool{}
	for _, name := range g.order {
		d := g.servers[name]
		d.mu.Lock()
		tools := d.tools
		d.mu.Unlock()
		for _, t := range tools {
			full := name + Separator + t.Name
			def, err := offeredTool(full, name, t)
			if err != nil {
				g.log.Warn("tool not offered", "server", name, "tool", t.Name, "reason", err.Error())
				continue
			}
			raw, _ := json.Marshal(def)
			want[full] = &offered{server: name, tool: t.Name, def: raw}
			defs[full] = def
		}
	}
	var gone []string
	for name := range g.offered {
		if _, ok := want[name]; !ok {
			gone = append(gone, name)
		}
	}
	if len(gone) > 0 {
		g.srv.RemoveTools(gone...)
	}
	for name, o := range want {
		if old, ok := g.offered[name]; ok && string(old.def) == string(o.def) {
			continue
		}
		if err := addTool(g.srv, defs[name], g.forward(o.server, o.tool)); err != nil {
			g.log.Warn("tool not offered", "server", o.server, "tool", o.tool, "reason", err.Error())
			delete(want, name)
		}
	}
	g.offered = want
	if desc := g.runCodeDescription(); desc != g.runDesc {
		g.runDesc = desc
		if err := addTool(g.srv, runCodeTool(desc), g.runCode); err != nil {
			g.log.Error("run_code could not be offered", "error", err.Error())
		}
	}
}

// offeredTool is t as the gateway offers it: renamed, described as the server's, with an
// input schema the SDK accepts.
func offeredTool(full, server string, t *mcp.Tool) (*mcp.Tool, error) {
	if !validToolName(t.Name) || !validToolName(full) {
		return nil, fmt.Errorf("%q is not a valid MCP tool name (or too long with the prefix)", full)
	}
	var schema map[string]any
	if err := remarshal(t.InputSchema, &schema); err != nil || schema["type"] != "object" {
		return nil, fmt.Errorf("its input schema is not a JSON Schema of type object")
	}
	c := *t
	c.Name = full
	c.Description = "[" + server + "] " + t.Description
	c.InputSchema = schema
	if t.OutputSchema != nil {
		var out map[string]any
		if err := remarshal(t.OutputSchema, &out); err != nil || out["type"] != "object" {
			c.OutputSchema = nil // offered without one rather than not at all
		} else {
			c.OutputSchema = out
		}
	}
	if c.Title == "" && t.Annotations != nil && t.Annotations.Title != "" {
		c.Title = t.Annotations.Title
	}
	if c.Title != "" {
		c.Title = server + ": " + c.Title
	}
	return &c, nil
}

func remarshal(from, to any) error {
	b, err := json.Marshal(from)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, to)
}

// addTool adds a tool, turning the SDK's panics about a bad definition into an error: the
// definition came from a server nobody audited.
func addTool(s *mcp.Server, t *mcp.Tool, h mcp.ToolHandler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	s.AddTool(t, h)
	return nil
}

// forward is the handler of a downstream tool.
func (g *Gateway) forward(server, tool string) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		d := g.servers[server]
		return g.withApproval(ctx, req, d, func(ctx context.Context) (*mcp.CallToolResult, error) {
			return d.call(ctx, tool, req.Params.Arguments, req.Params.GetProgressToken(), req.Session)
		})
	}
}

// addOwnTools adds run_code, list_permissions and the permissions resource.
func (g *Gateway) addOwnTools() {
	g.runDesc = g.runCodeDescription()
	if err := addTool(g.srv, runCodeTool(g.runDesc), g.runCode); err != nil {
		panic(err) // our own definition
	}
	if err := addTool(g.srv, listPermissionsTool(), g.listPermissions); err != nil {
		panic(err)
	}
	g.srv.AddResource(&mcp.Resource{
		URI:         PermissionsURI,
		Name:        "permissions",
		Title:       "What each server, binding and code mode may reach",
		Description: "The declared network policy of every server and binding of this gateway, and of code mode's fetch, with their approval state.",
		MIMEType:    "application/json",
	}, g.readPermissions)
}
