package approval

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// The kinds of declaration airlock asks approval for.
const (
	KindBinding = "binding"
	KindServer  = "server"
)

// Approval is one recorded approval.
type Approval struct {
	Digest     string    // as made by Digest
	ApprovedAt time.Time // UTC, whole seconds
}

// Entry is an approval with the declaration it is for.
type Entry struct {
	Kind, Name string
	Approval
}

// PathFor returns the approvals file of a config file: the config's name with its .yaml,
// .yml or .json extension replaced by .approvals.json ("/x/airlock.yaml" ->
// "/x/airlock.approvals.json"); a name with another or no extension gets .approvals.json
// appended.
func PathFor(configPath string) string {
	base := configPath
	switch strings.ToLower(filepath.Ext(configPath)) {
	case ".yaml", ".yml", ".json":
		base = strings.TrimSuffix(configPath, filepath.Ext(configPath))
	}
	return base + ".approvals.json"
}

// Store is the set of approvals of one config. Its methods are safe for concurrent use.
//
// Approvals of declarations that are no longer in the config ("stale" entries) are kept:
// Load, Check and Save never drop them, since the store does not know the config, and a kept
// approval only ever matches the exact content the user approved. Prune removes them when
// the caller (airlock approve) knows what the config declares.
type Store struct {
	path, configPath string

	mu     sync.RWMutex
	m      map[string]Approval // "KIND/NAME" -> approval
	grants map[string][]Grant  // scope -> destinations allowed at run time
}

// Load reads the approvals file at path. A missing file is an empty store (nothing approved).
// For the command that NotApprovedError suggests, Load takes the config to be the first of
// NAME.yaml, NAME.yml, NAME.json and NAME that exists next to NAME.approvals.json
// (LoadForConfig knows it exactly).
// A file that is not a valid approvals file is an error naming it, never an empty store: the
// user should learn that their approvals are not being read. On Unix, a file that others
// may write is refused, since whoever writes it approves.
func Load(path string) (*Store, error) {
	s := &Store{path: path, configPath: guessConfig(path), m: map[string]Approval{}, grants: map[string][]Grant{}}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read approvals: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read approvals %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("read approvals %s: not a regular file", path)
	}
	if err := checkNotWorldWritable(path, fi); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, fmt.Errorf("read approvals %s: %w", path, err)
	}
	if len(data) > maxFile {
		return nil, fmt.Errorf("%s: larger than %d bytes; this is not an approvals file", path, maxFile)
	}
	m, grants, err := decodeFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s is not a valid approvals file: %v; fix it, or delete it and approve again with `airlock approve` (until then nothing counts as approved)", path, err)
	}
	s.m, s.grants = m, grants
	return s, nil
}

// LoadForConfig is Load(PathFor(configPath)), remembering configPath for the command that
// NotApprovedError suggests.
func LoadForConfig(configPath string) (*Store, error) {
	s, err := Load(PathFor(configPath))
	if err != nil {
		return nil, err
	}
	s.configPath = configPath
	return s, nil
}

// guessConfig returns the config file whose approvals file is path, or "".
func guessConfig(path string) string {
	base, ok := strings.CutSuffix(path, ".approvals.json")
	if !ok {
		return ""
	}
	for _, ext := range []string{".yaml", ".yml", ".json", ""} {
		if fi, err := os.Stat(base + ext); err == nil && fi.Mode().IsRegular() {
			return base + ext
		}
	}
	return ""
}

// Path is the approvals file.
func (s *Store) Path() string { return s.path }

// ConfigPath is the config given to LoadForConfig, or the one Load found, or "".
func (s *Store) ConfigPath() string { return s.configPath }

func key(kind, name string) string { return kind + "/" + name }

// Check returns nil when the declaration kind/name was approved with exactly digest, and a
// *NotApprovedError otherwise: Changed is false when it was never approved, true when it was
// approved with another digest.
func (s *Store) Check(kind, name, digest string) error {
	s.mu.RLock()
	a, ok := s.m[key(kind, name)]
	s.mu.RUnlock()
	switch {
	case !ok:
		return &NotApprovedError{Kind: kind, Name: name, Current: digest, ConfigPath: s.configPath}
	case a.Digest != digest:
		return &NotApprovedError{Kind: kind, Name: name, Changed: true, Approved: a.Digest, Current: digest, ConfigPath: s.configPath}
	}
	return nil
}

// Get returns the approval of kind/name, if there is one.
func (s *Store) Get(kind, name string) (Approval, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.m[key(kind, name)]
	return a, ok
}

// Approve records that the user approved kind/name with digest at the time at (kept in UTC,
// to the second), replacing an earlier approval. Save writes it.
func (s *Store) Approve(kind, name, digest string, at time.Time) error {
	if err := checkKindName(kind, name); err != nil {
		return fmt.Errorf("approve %s/%s: %w", kind, name, err)
	}
	if err := checkDigest(digest); err != nil {
		return fmt.Errorf("approve %s %s: %w", kind, name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key(kind, name)] = Approval{Digest: digest, ApprovedAt: at.UTC().Truncate(time.Second)}
	return nil
}

// Revoke forgets the approval of kind/name and reports whether there was one.
func (s *Store) Revoke(kind, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key(kind, name)
	_, ok := s.m[k]
	delete(s.m, k)
	return ok
}

// Entries returns every approval, sorted by kind and name.
func (s *Store) Entries() []Entry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Entry, 0, len(s.m))
	for k, a := range s.m {
		kind, name, _ := strings.Cut(k, "/")
		out = append(out, Entry{Kind: kind, Name: name, Approval: a})
	}
	slices.SortFunc(out, func(a, b Entry) int { return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name)) })
	return out
}

// Prune removes the approvals for which keep returns false (declarations no longer in the
// config) and returns them, sorted.
func (s *Store) Prune(keep func(kind, name string) bool) []Entry {
	var removed []Entry
	for _, e := range s.Entries() {
		if !keep(e.Kind, e.Name) {
			removed = append(removed, e)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range removed {
		delete(s.m, key(e.Kind, e.Name))
	}
	return removed
}

// Save writes the approvals file atomically: a temporary file in the same directory (mode
// 0644: approvals are not secret), synced, renamed over the old one. A symbolic link at the
// path is replaced by the file, never written through. The directory must exist (it is the
// config's).
func (s *Store) Save() error {
	s.mu.RLock()
	data, err := encodeFile(s.m, s.grants)
	s.mu.RUnlock()
	if err != nil {
		return fmt.Errorf("save approvals %s: %w", s.path, err)
	}
	if err := writeFileAtomic(s.path, data, 0o644); err != nil {
		return fmt.Errorf("save approvals %s: %w", s.path, err)
	}
	return nil
}
