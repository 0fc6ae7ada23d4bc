package schemats

import (
	"strings"
	"testing"
)

func TestFunction(t *testing.T) {
	tests := []struct {
		name        string
		indent      string
		fn          string
		description string
		input       any
		output      any
		want        string
	}{
		{
			name: "real tool", indent: "  ", fn: "search_issues",
			description: "Search for issues in GitHub repositories.",
			input:       readTestdata(t, "search_issues.json"),
			want: "  /** Search for issues in GitHub repositories. */\n" +
				`  search_issues(args: { /** Search query, in GitHub's issue search syntax (e.g. "is:open label:bug") */ query: string; /** Page number (default 1, min 1) */ page?: number; state?: "open" | "closed" | "all" }): Promise<any>`,
		},
		{
			name: "server-everything tool", fn: "annotatedMessage",
			description: "Demonstrates how annotations can be used to provide metadata about content",
			input:       readTestdata(t, "everything_annotated_message.json"),
			want: "/** Demonstrates how annotations can be used to provide metadata about content */\n" +
				`annotatedMessage(args: { /** Type of message to demonstrate different annotation patterns */ messageType: "error" | "success" | "debug"; /** Whether to include an example image (default false) */ includeImage?: boolean }): Promise<any>`,
		},
		{
			name: "output schema", fn: "add",
			input:  raw(`{"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}},"required":["a","b"]}`),
			output: raw(`{"type":"object","properties":{"sum":{"type":"number"}},"required":["sum"]}`),
			want:   "add(args: { a: number; b: number }): Promise<{ sum: number }>",
		},
		{
			name: "Go struct input and output", fn: "create_issue",
			input: goStructSchema(t), output: goStructSchema(t),
			want: "create_issue(args: " + goStructType + "): Promise<" + goStructType + ">",
		},
		{
			name: "no properties", fn: "get_time",
			input: raw(`{"type":"object"}`),
			want:  "get_time(args?: {}): Promise<any>",
		},
		{
			name: "closed and empty", fn: "ping",
			input: raw(`{"type":"object","properties":{},"additionalProperties":false,"$schema":"http://json-schema.org/draft-07/schema#"}`),
			want:  "ping(args?: {}): Promise<any>",
		},
		{
			name: "no input schema", fn: "ping", input: nil,
			want: "ping(args?: {}): Promise<any>",
		},
		{
			name: "nothing required", fn: "list",
			input: raw(`{"type":"object","properties":{"cursor":{"type":"string"}}}`),
			want:  "list(args?: { cursor?: string }): Promise<any>",
		},
		{
			name: "only a map", fn: "set_env",
			input: raw(`{"type":"object","additionalProperties":{"type":"string"}}`),
			want:  "set_env(args?: { [key: string]: string }): Promise<any>",
		},
		{
			name: "root is a ref", fn: "get",
			input: raw(`{"$ref":"#/$defs/Args","$defs":{"Args":{"type":"object","properties":{"id":{"type":"string"}},"required":["id"]}}}`),
			want:  "get(args: { id: string }): Promise<any>",
		},
		{
			name: "root is a ref next to a type", fn: "get",
			input: raw(`{"type":"object","$ref":"#/definitions/Args","definitions":{"Args":{"type":"object","properties":{"id":{"type":"string"}}}}}`),
			want:  "get(args?: { id?: string }): Promise<any>",
		},
		{
			name: "root is a ref that cannot be resolved", fn: "get",
			input: raw(`{"type":"object","$ref":"other.json"}`),
			want:  "get(args: { [key: string]: any }): Promise<any>",
		},
		{
			name: "alternatives", fn: "find",
			input: raw(`{"anyOf":[{"properties":{"id":{"type":"string"}},"required":["id"]},{"properties":{"name":{"type":"string"}},"required":["name"]}]}`),
			want:  "find(args: { id: string } | { name: string }): Promise<any>",
		},
		{
			name: "name that is not an identifier", fn: "get-issue",
			input: raw(`{"type":"object"}`),
			want:  `"get-issue"(args?: {}): Promise<any>`,
		},
		{
			name: "name that tries to break out", fn: "x(): void; evil\n/*",
			want: `"x(): void; evil\n\/*"(args?: {}): Promise<any>`,
		},
		{
			name: "first paragraph only", indent: "\t", fn: "f",
			description: "\n\n  First line\n  continues here.\r\n  \r\nSecond paragraph.",
			want:        "\t/** First line continues here. */\n\tf(args?: {}): Promise<any>",
		},
		{
			name: "description cannot close the comment", fn: "f",
			description: "ends */ early",
			want:        "/** ends * / early */\nf(args?: {}): Promise<any>",
		},
		{
			name: "description trimmed", fn: "f",
			description: strings.Repeat("abcdefghi ", 40),
			want:        "/** " + strings.Repeat("abcdefghi ", 29) + "abcdefghi… */\nf(args?: {}): Promise<any>",
		},
		{
			name: "blank description", fn: "f", description: " \n\t ",
			want: "f(args?: {}): Promise<any>",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Function(tt.indent, tt.fn, tt.description, tt.input, tt.output)
			if got != tt.want {
				t.Errorf("Function() =\n%s\nwant\n%s", got, tt.want)
			}
			if err := checkFunction(got, tt.indent); err != nil {
				t.Error(err)
			}
		})
	}
}
