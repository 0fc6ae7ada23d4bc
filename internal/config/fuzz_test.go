package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics and always returns exactly one of a *File and an
// error, and that every line of an error names the file.
func FuzzParse(f *testing.F) {
	// Seeds: every config in testdata and the examples (valid and invalid, YAML and JSON), and
	// a few shapes the files do not cover.
	for _, pattern := range []string{"testdata/*/*.yaml", "testdata/*/*.json", "../../examples/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, path := range files {
			data, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	for _, s := range []string{
		"",
		"null",
		"version: 1\nservers: {a: {command: x, network: {allow: [\"${X}\"]}, env: {X: \"http://[::1]:1\"}}}",
		"version: 1\nservers: {a: &a {command: x}, b: *a}",
		"{\"version\": 1, \"servers\": {\"a\": {\"command\": \"x\", \"network\": {\"timeout\": \"1h\"}}}}",
		"version: 1\n---\n",
		"version: !!binary aGVsbG8=",
		"[[[[[[[[[[[[[[[[[[[[",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "fuzz.yaml"
		file, err := Parse(name, data)
		if (file == nil) == (err == nil) {
			t.Fatalf("Parse returned %v and %v", file, err)
		}
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, name+":") {
					t.Fatalf("error line without the file name: %q", line)
				}
			}
			return
		}
		if file.Servers == nil || file.Codemode.Policy == nil {
			t.Fatalf("incomplete File: %+v", file)
		}
		for _, s := range file.Servers {
			if s.Policy == nil || s.Env == nil || s.Command == "" {
				t.Fatalf("incomplete Server: %+v", s)
			}
		}
	})
}

// FuzzParseToolHiveProfile checks that profile parsing never panics and that errors name the
// file.
func FuzzParseToolHiveProfile(f *testing.F) {
	files, _ := filepath.Glob("testdata/toolhive/*.json")
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "fuzz.json"
		_, err := ParseToolHiveProfile(name, data)
		if err != nil && !strings.HasPrefix(err.Error(), name+":") {
			t.Fatalf("error without the file name: %q", err)
		}
	})
}
