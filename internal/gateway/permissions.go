package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/airlock-sh/airlock/internal/policy"
)

// GrantLister is implemented by Grants that can list what was granted, for list_permissions.
type GrantLister interface {
	// GrantsOf returns scope's grants as host:port strings.
	GrantsOf(scope string) []string
}

// Permissions is what list_permissions and the airlock://permissions resource show.
type Permissions struct {
	Servers     []ServerPermissions  `json:"servers"`
	Bindings    []BindingPermissions `json:"bindings"`
	Codemode    CodemodePermissions  `json:"codemode"`
	Unavailable []Unavailable        `json:"unavailable"`
}

// ServerPermissions is one server's declared network and state.
type ServerPermissions struct {
	Name    string      `json:"name"`
	Tools   string      `json:"tools"` // the prefix of its tools
	Code    string      `json:"code_object,omitempty"`
	Command []string    `json:"command"`
	Network policy.Spec `json:"network"`
	Granted []string    `json:"granted_at_run_time,omitempty"`
	Status  string      `json:"status"`
}

// BindingPermissions is one binding's declaration as far as its reach goes.
type BindingPermissions struct {
	Name        string      `json:"name"`
	Type        string      `json:"type"`
	Description string      `json:"description,omitempty"`
	Credential  string      `json:"credential,omitempty"`
	Methods     []string    `json:"methods"`
	Network     policy.Spec `json:"network"`
}

// CodemodePermissions is code mode's fetch policy.
type CodemodePermissions struct {
	Network policy.Spec `json:"network"`
	Summary string      `json:"summary"`
	Granted []string    `json:"granted_at_run_time,omitempty"`
}

// Permissions collects what list_permissions shows.
func (g *Gateway) Permissions() Permissions {
	p := Permissions{Bindings: []BindingPermissions{}, Servers: []ServerPermissions{}, Unavailable: g.opts.Unavailable}
	if p.Unavailable == nil {
		p.Unavailable = []Unavailable{}
	}
	lister, _ := g.opts.Grants.(GrantLister)
	grants := func(scope string) []string {
		if lister == nil {
			return nil
		}
		return lister.GrantsOf(scope)
	}
	codeObj := map[string]string{}
	for obj, s := range g.codeNames {
		codeObj[s] = obj
	}
	for _, name := range g.order {
		d := g.servers[name]
		p.Servers = append(p.Servers, ServerPermissions{
			Name: name, Tools: name + Separator + "*", Code: codeObj[name], Command: d.cfg.Command,
			Network: d.cfg.Spec, Granted: grants(scopeServer(name)), Status: d.status(),
		})
	}
	for _, decl := range g.opts.Declarations {
		ms := make([]string, 0, len(decl.Methods))
		for m := range decl.Methods {
			ms = append(ms, m)
		}
		slices.Sort(ms)
		bp := BindingPermissions{Name: decl.Name, Type: decl.Type, Description: decl.Description,
			Methods: ms, Network: decl.Network}
		if decl.Credential != "" {
			bp.Credential = decl.Credential + " (held by airlock; never given to code)"
		}
		p.Bindings = append(p.Bindings, bp)
	}
	p.Codemode = CodemodePermissions{Network: g.opts.CodeSpec, Summary: policySummary(g.opts.CodeSpec), Granted: grants(scopeCodemode)}
	return p
}

// policySummary says in a few words what a policy grants.
func policySummary(s policy.Spec) string {
	var parts []string
	if s.AllowPublicInternet {
		parts = append(parts, "the public internet")
	}
	if len(s.Allow) > 0 {
		shown := s.Allow
		if len(shown) > 8 {
			shown = shown[:8]
		}
		t := strings.Join(shown, ", ")
		if len(s.Allow) > 8 {
			t += fmt.Sprintf(" and %d more", len(s.Allow)-8)
		}
		parts = append(parts, t)
	}
	if len(parts) == 0 {
		return "no destinations"
	}
	out := strings.Join(parts, "; ")
	var opt []string
	if s.AllowPrivateIPs {
		opt = append(opt, "private networks")
	}
	if s.AllowLocalhost {
		opt = append(opt, "loopback")
	}
	if len(opt) > 0 {
		out += "; also " + strings.Join(opt, " and ")
	} else {
		out += "; never private networks, loopback or cloud metadata"
	}
	if len(s.Deny) > 0 {
		out += "; denied: " + strings.Join(s.Deny, ", ")
	}
	return out
}

func listPermissionsTool() *mcp.Tool {
	return &mcp.Tool{
		Name:  ToolListPermissions,
		Title: "What each server, binding and code mode may reach",
		Description: "Lists every MCP server and binding behind this gateway with the network it is declared to reach (allow and deny entries, opt-ins for private networks and loopback, limits), " +
			"destinations the user allowed at run time, each server's state, code mode's fetch policy, and what the config declares but is not offered (e.g. not approved) and why.",
		InputSchema: map[string]any{"type": "object", "properties": map[string]any{}, "additionalProperties": false},
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true},
	}
}

func (g *Gateway) listPermissions(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	p := g.Permissions()
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return toolError("airlock: %v", err), nil
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(b)}}}, nil
}

func (g *Gateway) readPermissions(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	b, err := json.MarshalIndent(g.Permissions(), "", "  ")
	if err != nil {
		return nil, err
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: PermissionsURI, MIMEType: "application/json", Text: string(b)}}}, nil
}
