package schemats

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"
)

// The input of a Go MCP tool, whose schema the Go SDK makes with jsonschema.For.
type issueLabel struct {
	Name  string `json:"name" jsonschema:"label name"`
	Color string `json:"color,omitempty"`
}

type createIssueInput struct {
	Title    string         `json:"title" jsonschema:"the issue title"`
	Labels   []issueLabel   `json:"labels"`
	Counts   map[string]int `json:"counts,omitempty"`
	Assignee *string        `json:"assignee,omitempty"`
}

const goStructType = `{ /** the issue title */ title: string; labels: { /** label name */ name: string; color?: string }[] | null; assignee?: string | null; counts?: { [key: string]: number } }`

func goStructSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	s, err := jsonschema.For[createIssueInput](nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTypeGoStruct(t *testing.T) {
	s := goStructSchema(t)
	if got := Type(s); got != goStructType {
		t.Errorf("Type(*jsonschema.Schema) =\n%s\nwant\n%s", got, goStructType)
	}

	// testdata/gostruct.json is the same schema as JSON, the fuzz seed and benchmark input;
	// it must not drift from what jsonschema-go makes.
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var made, stored any
	if err := json.Unmarshal(b, &made); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(readTestdata(t, "gostruct.json"), &stored); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(made, stored) {
		t.Errorf("testdata/gostruct.json differs from what jsonschema.For makes now:\n%s", b)
	}
}
