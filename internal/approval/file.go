package approval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The approvals file:
//
//	{
//	  "version": 1,
//	  "approvals": {
//	    "binding/lgRemote": {"digest": "sha256:…", "approved_at": "2025-01-02T03:04:05Z"},
//	    "server/github":    {"digest": "sha256:…", "approved_at": "2025-01-02T03:04:05Z"}
//	  },
//	  "grants": {
//	    "server/github": [{"host": "uploads.example.com", "port": 443, "granted_at": "2025-01-02T03:04:05Z"}],
//	    "codemode":      [{"host": "192.168.1.20", "port": 8080, "granted_at": "2025-01-02T03:04:05Z"}]
//	  }
//	}
//
// "grants" (optional) are destinations the user allowed for good at run time ("Allow always"
// when airlock gateway asked), by scope: "server/NAME" or "codemode".
const fileVersion = 1

type fileJSON struct {
	Version   *int                   `json:"version"`
	Approvals map[string]entryJSON   `json:"approvals"`
	Grants    map[string][]grantJSON `json:"grants,omitempty"`
}

type grantJSON struct {
	Host      string `json:"host"`
	Port      uint16 `json:"port"`
	GrantedAt string `json:"granted_at"`
}

type entryJSON struct {
	Digest     string `json:"digest"`
	ApprovedAt string `json:"approved_at"`
}

// maxFile bounds what Load reads: thousands of approvals fit in far less.
const maxFile = 4 << 20

// decodeFile parses an approvals file strictly: unknown fields, a missing or other version,
// malformed keys, digests or times, and trailing data are errors.
func decodeFile(data []byte) (map[string]Approval, map[string][]Grant, error) {
	m, err := decodeApprovals(data)
	if err != nil {
		return nil, nil, err
	}
	var f fileJSON
	_ = json.Unmarshal(data, &f) // decodeApprovals accepted it
	grants := map[string][]Grant{}
	for scope, list := range f.Grants {
		if err := checkScope(scope); err != nil {
			return nil, nil, fmt.Errorf("grants %q: %w", scope, err)
		}
		for i, gj := range list {
			at, err := time.Parse(time.RFC3339, gj.GrantedAt)
			if err != nil {
				return nil, nil, fmt.Errorf("grants %q[%d]: granted_at %q is not an RFC 3339 time", scope, i, gj.GrantedAt)
			}
			g := Grant{Host: gj.Host, Port: gj.Port, GrantedAt: at.UTC().Truncate(time.Second)}
			if err := g.check(); err != nil {
				return nil, nil, fmt.Errorf("grants %q[%d]: %w", scope, i, err)
			}
			grants[scope] = append(grants[scope], g)
		}
	}
	return m, grants, nil
}

func decodeApprovals(data []byte) (map[string]Approval, error) {
	var f fileJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the JSON object")
	}
	switch {
	case f.Version == nil:
		return nil, errors.New(`no "version"`)
	case *f.Version != fileVersion:
		return nil, fmt.Errorf("version %d; this airlock reads version %d", *f.Version, fileVersion)
	}
	out := make(map[string]Approval, len(f.Approvals))
	for k, e := range f.Approvals {
		kind, name, ok := strings.Cut(k, "/")
		if !ok {
			return nil, fmt.Errorf("%q: an approval is named KIND/NAME, e.g. binding/lgRemote", k)
		}
		if err := checkKindName(kind, name); err != nil {
			return nil, fmt.Errorf("%q: %w", k, err)
		}
		if err := checkDigest(e.Digest); err != nil {
			return nil, fmt.Errorf("%q: %w", k, err)
		}
		at, err := time.Parse(time.RFC3339, e.ApprovedAt)
		if err != nil {
			return nil, fmt.Errorf("%q: approved_at %q is not an RFC 3339 time", k, e.ApprovedAt)
		}
		out[k] = Approval{Digest: e.Digest, ApprovedAt: at}
	}
	return out, nil
}

// encodeFile is the inverse of decodeFile, indented, keys sorted.
func encodeFile(m map[string]Approval, grants map[string][]Grant) ([]byte, error) {
	v := fileVersion
	f := fileJSON{Version: &v, Approvals: make(map[string]entryJSON, len(m))}
	for k, a := range m {
		f.Approvals[k] = entryJSON{Digest: a.Digest, ApprovedAt: a.ApprovedAt.UTC().Format(time.RFC3339)}
	}
	for scope, list := range grants {
		if len(list) == 0 {
			continue
		}
		if f.Grants == nil {
			f.Grants = map[string][]grantJSON{}
		}
		for _, g := range list {
			f.Grants[scope] = append(f.Grants[scope], grantJSON{Host: g.Host, Port: g.Port, GrantedAt: g.GrantedAt.UTC().Format(time.RFC3339)})
		}
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// checkKindName validates the two parts of an approval's name. A kind is a lower-case word
// (binding, server); a name is any non-empty text of at most 256 characters without control
// characters (each kind's own rules are stricter).
func checkKindName(kind, name string) error {
	if kind == "" || len(kind) > 32 || kind[0] < 'a' || kind[0] > 'z' {
		return fmt.Errorf("kind %q: use a lower-case word such as binding or server", kind)
	}
	for _, c := range []byte(kind) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("kind %q: use a lower-case word such as binding or server", kind)
		}
	}
	if name == "" || len(name) > 256 || !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl) {
		return fmt.Errorf("name %q: use 1 to 256 characters of text, without control characters", name)
	}
	return nil
}
