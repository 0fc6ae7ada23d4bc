package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/airlock-sh/airlock/internal/binding"
	"github.com/airlock-sh/airlock/internal/codemode"
	"github.com/airlock-sh/airlock/internal/gateway/schemats"
)

// runCodeTool is run_code's definition.
func runCodeTool(desc string) *mcp.Tool {
	return &mcp.Tool{
		Name:        ToolRunCode,
		Title:       "Run code (airlock code mode)",
		Description: desc,
		InputSchema: map[string]any{
			"type": "object",
			"properties": map[string]any{
				"code": map[string]any{
					"type":        "string",
					"description": "JavaScript or TypeScript. Top-level await and return work; the returned value is the result.",
				},
			},
			"required":             []any{"code"},
			"additionalProperties": false,
		},
		Annotations: &mcp.ToolAnnotations{Title: "Run code (airlock code mode)", OpenWorldHint: ptr(true)},
	}
}

func ptr[T any](v T) *T { return &v }

// maxDescription bounds run_code's description: beyond it, tools are listed by name only.
const maxDescription = 48 << 10

// runCodeDescription describes run_code with everything the code can call.
func (g *Gateway) runCodeDescription() string {
	var b strings.Builder
	lim := g.opts.Limits
	fmt.Fprintf(&b, "Run JavaScript or TypeScript in airlock's code mode: a separate process with no network of its own%s. "+
		"Top-level await and return work; the returned value (as JSON) is the result, and console output is returned with it.\n\n", limitsText(lim))
	b.WriteString("Available in the code, and nothing else (no require, no filesystem, no environment, no timers that outlive the run):\n\n")
	b.WriteString("fetch(url, init?) — executed by airlock under code mode's network policy (" + policySummary(g.opts.CodeSpec) +
		"). A refused request throws an Error that starts \"Network request blocked:\" and says why.\n")

	servers, full := g.codeServerDecls()
	if servers != "" {
		b.WriteString("\nMCP servers — each tool is an async function taking one object (the tool's arguments). It resolves to the tool's structured result, or else its text (parsed when it is JSON); a tool error rejects with the error's text.\n")
		b.WriteString(servers)
	}
	bindings := g.bindingDecls()
	if bindings != "" {
		b.WriteString("\nBindings — trusted clients on airlock's side (devices, services). Arguments are positional as declared (or one object with the parameters by name) and checked; credentials never reach the code.\n")
		b.WriteString(bindings)
	}
	if servers == "" && bindings == "" {
		b.WriteString("\nNo servers or bindings are available to the code yet.\n")
	}
	if !full {
		b.WriteString("\n(Some signatures are left out to keep this description short; list_permissions and the tools list show every tool.)\n")
	}
	b.WriteString("\nExample: const r = await fetch(\"https://api.github.com/zen\"); return await r.text();\n")
	return b.String()
}

func limitsText(l codemode.Limits) string {
	wall, cpu, mem := l.Wall, l.CPU, l.Memory
	if wall == 0 {
		wall = codemode.DefaultWall
	}
	if cpu == 0 {
		cpu = codemode.DefaultCPU
	}
	if mem == 0 {
		mem = codemode.DefaultMemory
	}
	return fmt.Sprintf(", limited to %v wall-clock, %v CPU and %d MiB of memory", wall, cpu, mem>>20)
}

// codeServerDecls renders `declare const server: {...}` for every server offered to code.
// full is false when signatures were cut to bound the description.
func (g *Gateway) codeServerDecls() (string, bool) {
	var b strings.Builder
	full := true
	for _, obj := range slices.Sorted(maps.Keys(g.codeNames)) {
		d := g.servers[g.codeNames[obj]]
		d.mu.Lock()
		known, methods := d.tools != nil, d.methods
		d.mu.Unlock()
		fmt.Fprintf(&b, "declare const %s: {\n", obj)
		if !known {
			b.WriteString("  // tools not known yet: the server has not started (it starts on first use)\n")
		}
		for _, m := range methods {
			if b.Len() > maxDescription {
				fmt.Fprintf(&b, "  %s(args: object): Promise<any>;\n", m.method)
				full = false
				continue
			}
			b.WriteString(schemats.Function("  ", m.method, m.tool.Description, m.tool.InputSchema, m.tool.OutputSchema))
			b.WriteString(";\n")
		}
		b.WriteString("};\n")
	}
	return b.String(), full
}

// bindingDecls renders the approved bindings' methods.
func (g *Gateway) bindingDecls() string {
	var b strings.Builder
	for _, decl := range g.opts.Declarations {
		fmt.Fprintf(&b, "declare const %s: { // %s", decl.Name, decl.Type)
		if decl.Description != "" {
			b.WriteString(": " + oneLine(decl.Description, 200))
		}
		b.WriteString("\n")
		for _, mn := range slices.Sorted(maps.Keys(decl.Methods)) {
			m := decl.Methods[mn]
			if m.Description != "" {
				fmt.Fprintf(&b, "  /** %s */\n", commentSafe(oneLine(m.Description, 300)))
			}
			params := make([]string, 0, len(m.Params))
			for _, p := range m.Params {
				opt := ""
				if p.Optional || p.Default != nil {
					opt = "?"
				}
				params = append(params, p.Name+opt+": "+schemats.Type(paramSchema(p)))
			}
			fmt.Fprintf(&b, "  %s(%s): Promise<any>;\n", mn, strings.Join(params, ", "))
		}
		b.WriteString("};\n")
	}
	return b.String()
}

// paramSchema is a binding parameter as a JSON Schema, for its TypeScript type.
func paramSchema(p binding.Param) map[string]any {
	s := map[string]any{}
	switch p.Type {
	case binding.TypePath:
		s["type"] = "string"
	default:
		s["type"] = p.Type
	}
	if len(p.Enum) > 0 {
		s["enum"] = p.Enum
	}
	return s
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func commentSafe(s string) string { return strings.ReplaceAll(s, "*/", "* /") }

// toolMethod is a downstream tool as a method of its server's object in code mode.
type toolMethod struct {
	method string
	tool   *mcp.Tool
}

// objectMembers may not be method names: every JavaScript object has them.
var objectMembers = []string{"__proto__", "constructor", "hasOwnProperty", "isPrototypeOf",
	"propertyIsEnumerable", "toLocaleString", "toString", "valueOf", "__defineGetter__",
	"__defineSetter__", "__lookupGetter__", "__lookupSetter__", "then"}

// toolMethods maps tools to method names: characters that cannot be in an identifier become
// _, a leading digit gets a _ in front; a name taken twice keeps its first tool only.
func toolMethods(tools []*mcp.Tool) []toolMethod {
	var out []toolMethod
	seen := map[string]bool{}
	for _, t := range tools {
		m := identifierFor(t.Name)
		if m == "" || seen[m] || slices.Contains(objectMembers, m) {
			continue
		}
		seen[m] = true
		out = append(out, toolMethod{m, t})
	}
	slices.SortFunc(out, func(a, b toolMethod) int { return strings.Compare(a.method, b.method) })
	return out
}

// identifierFor turns a name into a JavaScript identifier ("get-env" -> "get_env"), or "" when
// nothing is left of it.
func identifierFor(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$') {
			b[i] = '_'
		}
	}
	s := string(b)
	if s == "" {
		return ""
	}
	if s[0] >= '0' && s[0] <= '9' {
		s = "_" + s
	}
	return s
}

// pickCodeNames decides which servers are objects in code mode, and under which names; a
// server left out is logged.
func (g *Gateway) pickCodeNames() {
	g.codeNames = map[string]string{}
	taken := map[string]bool{}
	for _, d := range g.opts.Declarations {
		taken[d.Name] = true
	}
	for _, name := range g.order {
		obj := identifierFor(name)
		if err := binding.CheckName(obj); err != nil {
			g.log.Warn("server left out of code mode: its name cannot be a code-mode global", "server", name, "reason", err.Error())
			continue
		}
		if taken[obj] {
			g.log.Warn("server left out of code mode: a binding or another server has its name there", "server", name, "name", obj)
			continue
		}
		taken[obj] = true
		g.codeNames[obj] = name
	}
}

// codeBindings is what run_code's code can call: the approved bindings and every server's
// tools.
type codeBindings struct{ g *Gateway }

func (c *codeBindings) Methods() map[string][]string {
	out := map[string][]string{}
	if c.g.opts.Bindings != nil {
		maps.Copy(out, c.g.opts.Bindings.Methods())
	}
	for obj, server := range c.g.codeNames {
		ms := []string{}
		for _, m := range c.g.servers[server].codeMethods() {
			ms = append(ms, m.method)
		}
		out[obj] = ms
	}
	return out
}

func (c *codeBindings) Call(ctx context.Context, obj, method string, args []json.RawMessage) (json.RawMessage, error) {
	server, ok := c.g.codeNames[obj]
	if !ok {
		if c.g.opts.Bindings == nil {
			return nil, fmt.Errorf("%s is not available", obj)
		}
		return c.g.opts.Bindings.Call(ctx, obj, method, args)
	}
	d := c.g.servers[server]
	ms := d.codeMethods()
	i, found := slices.BinarySearchFunc(ms, method, func(m toolMethod, name string) int { return strings.Compare(m.method, name) })
	if !found {
		return nil, fmt.Errorf("%s has no tool %s", obj, method)
	}
	var in json.RawMessage
	switch {
	case len(args) == 0:
	case len(args) == 1 && isObject(args[0]):
		in = args[0]
	default:
		return nil, fmt.Errorf("%s.%s takes one object with the tool's arguments, e.g. %s.%s({...})", obj, method, obj, method)
	}
	if a := askerFrom(ctx); a != nil {
		d.addAsker(a)
		defer d.removeAsker(a)
	}
	res, err := d.call(ctx, ms[i].tool.Name, in, nil, nil)
	if err != nil {
		return nil, err
	}
	return toolValue(res)
}

func isObject(raw json.RawMessage) bool {
	s := strings.TrimLeft(string(raw), " \t\r\n")
	return strings.HasPrefix(s, "{")
}

// toolValue is what a tool's result resolves to in code: its structured content, else its
// text (parsed when it is a JSON object or array), else its content items. A tool error
// rejects.
func toolValue(res *mcp.CallToolResult) (json.RawMessage, error) {
	text, allText := resultText(res)
	if res.IsError {
		if text == "" {
			text = "the tool reported an error without text"
		}
		return nil, errors.New(text)
	}
	if res.StructuredContent != nil {
		return json.Marshal(res.StructuredContent)
	}
	if allText {
		t := strings.TrimSpace(text)
		if (strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[")) && json.Valid([]byte(t)) {
			return json.RawMessage(t), nil
		}
		return json.Marshal(text)
	}
	return json.Marshal(res.Content)
}

// resultText joins a result's text items; allText is false when it has other items.
func resultText(res *mcp.CallToolResult) (text string, allText bool) {
	var parts []string
	allText = true
	for _, c := range res.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, t.Text)
		} else {
			allText = false
		}
	}
	return strings.Join(parts, "\n"), allText
}

// runCode is run_code's handler.
func (g *Gateway) runCode(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	var in struct {
		Code string `json:"code"`
	}
	dec := json.NewDecoder(strings.NewReader(string(req.Params.Arguments)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return toolError("run_code takes {\"code\": \"...\"}: %v", err), nil
	}
	if strings.TrimSpace(in.Code) == "" {
		return toolError("run_code: the code is empty; give JavaScript or TypeScript in \"code\""), nil
	}
	return g.withApproval(ctx, req, nil, func(ctx context.Context) (*mcp.CallToolResult, error) {
		g.ensureAll(ctx)
		res, err := g.runner.Run(ctx, codemode.Source{Name: "run_code.ts", Code: in.Code})
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return toolError("airlock could not run the code: %v", err), nil
		}
		return codeResult(res), nil
	})
}

// codeResult turns a run's result into the tool's.
func codeResult(res *codemode.Result) *mcp.CallToolResult {
	out := &mcp.CallToolResult{}
	var console strings.Builder
	for _, l := range res.Console {
		if l.Level != "log" && l.Level != "info" {
			console.WriteString("[" + l.Level + "] ")
		}
		console.WriteString(l.Text)
		console.WriteByte('\n')
	}
	if res.Dropped > 0 {
		fmt.Fprintf(&console, "(%d bytes of console output dropped over the output limit)\n", res.Dropped)
	}
	if res.Error != nil {
		out.IsError = true
		out.Content = append(out.Content, &mcp.TextContent{Text: res.Error.Error()})
	} else {
		v := res.Value
		if len(v) == 0 {
			v = json.RawMessage("null")
		}
		out.Content = append(out.Content, &mcp.TextContent{Text: string(v)})
		out.StructuredContent = map[string]any{"result": v, "console": console.String()}
	}
	if console.Len() > 0 {
		out.Content = append(out.Content, &mcp.TextContent{Text: "console output:\n" + console.String()})
	}
	return out
}
