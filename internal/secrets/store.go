package secrets

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// DefaultStorePath and DefaultKeyPath are the files under a user configuration directory
// (os.UserConfigDir: $XDG_CONFIG_HOME or ~/.config on Linux).
func DefaultStorePath(configDir string) string {
	return filepath.Join(configDir, "airlock", "secrets.enc")
}

// DefaultKeyPath: see DefaultStorePath.
func DefaultKeyPath(configDir string) string {
	return filepath.Join(configDir, "airlock", "secret.key")
}

// ErrNotFound: the store has no credential of that name, or the credential no such key.
var ErrNotFound = errors.New("not found")

// Store is a set of named credentials, each a map of key to value, read from and saved to one
// encrypted file. Its methods are safe for concurrent use. A Store formats as its path and
// credential names, never its values.
type Store struct {
	path string
	key  Key

	mu    sync.RWMutex
	creds hidden[map[string]map[string]string] // name -> key -> value as stored
}

// Open reads the store at path with key. A missing file is an empty store (the zero Key is
// then accepted; Save needs a real one). A file that group or others may read or write, or
// that another user owns, is refused (ErrInsecureFile); a file written with another key is
// ErrWrongKey; a damaged or modified one ErrCorrupt.
func Open(path string, key Key) (*Store, error) {
	s := &Store{path: path, key: key, creds: hide(map[string]map[string]string{})}
	data, err := readPrivate(path, maxStoreFile)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	if key.IsZero() {
		return nil, fmt.Errorf("cannot decrypt %s: %w: set %s or create the key file it was written with", path, ErrNoKey, KeyEnv)
	}
	plain, err := unseal(key, data)
	switch {
	case errors.Is(err, ErrWrongKey):
		return nil, fmt.Errorf("cannot decrypt %s: %w (%s): it was written with another key; use that key (%s or the key file) or, if it is lost, remove %s and set the credentials again", path, err, key.source, KeyEnv, shellQuote(path))
	case errors.Is(err, ErrCorrupt):
		return nil, fmt.Errorf("cannot decrypt %s: %w; restore it from a backup, or remove it and set the credentials again", path, err)
	case err != nil:
		return nil, fmt.Errorf("cannot decrypt %s: %w", path, err)
	}
	creds, err := decodePayload(plain)
	clear(plain)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s.creds = hide(creds)
	return s, nil
}

// Path is the file the store was opened from.
func (s *Store) Path() string { return s.path }

// Key is the key the store was opened with.
func (s *Store) Key() Key { return s.key }

// Set stores the credential name. With merge, the keys in kv are added to (or replace those
// in) an existing credential; without, kv becomes the whole credential. Names, keys and values
// are checked (Check; see the package documentation for the rules); nothing changes on error.
// Save writes the change.
func (s *Store) Set(name string, kv map[string]string, merge bool) error {
	if err := Check(name, kv); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := maps.Clone(kv)
	if old, ok := s.creds()[name]; ok && merge {
		next = maps.Clone(old)
		maps.Copy(next, kv)
	}
	if len(next) > maxKeys {
		return fmt.Errorf("credential %s: %d keys; at most %d are allowed", name, len(next), maxKeys)
	}
	s.creds()[name] = next
	return nil
}

// Check reports whether Set would accept name and kv: the name's and keys' syntax, values
// that are valid UTF-8 and not too long, and well-formed ${VAR} references. Its errors never
// quote a value.
func Check(name string, kv map[string]string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if len(kv) == 0 {
		return fmt.Errorf("credential %s: give at least one KEY=VALUE", name)
	}
	if len(kv) > maxKeys {
		return fmt.Errorf("credential %s: %d keys; at most %d are allowed", name, len(kv), maxKeys)
	}
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		if err := checkKey(k); err != nil {
			return fmt.Errorf("credential %s: %w", name, err)
		}
		if err := checkValue(k, kv[k]); err != nil {
			return fmt.Errorf("credential %s: %w", name, err)
		}
	}
	return nil
}

// Remove deletes keys from the credential name, or the whole credential when no keys are
// given. A credential left without keys is deleted. An unknown name or key is an error
// wrapping ErrNotFound, and nothing changes.
func (s *Store) Remove(name string, keys ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	kv, ok := s.creds()[name]
	if !ok {
		return s.notFound(name)
	}
	if len(keys) == 0 {
		delete(s.creds(), name)
		return nil
	}
	for _, k := range keys {
		if _, ok := kv[k]; !ok {
			return errorOf(ErrNotFound, "credential %s has no key %q; its keys are: %s", name, k, strings.Join(slices.Sorted(maps.Keys(kv)), ", "))
		}
	}
	for _, k := range keys {
		delete(kv, k)
	}
	if len(kv) == 0 {
		delete(s.creds(), name)
	}
	return nil
}

// notFound is the error for an unknown credential, listing the names there are.
func (s *Store) notFound(name string) error {
	if len(s.creds()) == 0 {
		return errorOf(ErrNotFound, "no credential %q: %s holds no credentials; add it with `airlock secret set %s KEY=VALUE`", name, s.path, name)
	}
	return errorOf(ErrNotFound, "no credential %q in %s (add it with `airlock secret set %s KEY=VALUE`); the credentials are: %s", name, s.path, name, strings.Join(slices.Sorted(maps.Keys(s.creds())), ", "))
}

// Names returns the credential names, sorted.
func (s *Store) Names() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Sorted(maps.Keys(s.creds()))
}

// Has reports whether the store has the credential name.
func (s *Store) Has(name string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.creds()[name]
	return ok
}

// Keys returns the keys of the credential name, sorted; nil when there is no such credential.
func (s *Store) Keys(name string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	kv, ok := s.creds()[name]
	if !ok {
		return nil
	}
	return slices.Sorted(maps.Keys(kv))
}

// Reference returns the environment variable the value of name's key refers to (${VAR}), and
// whether it is such a reference. A reference is not secret: listings may show it.
func (s *Store) Reference(name, key string) (variable string, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, found := s.creds()[name][key]
	if !found {
		return "", false
	}
	text, ref, err := parseValue(v)
	if err != nil || !ref {
		return "", false
	}
	return text, true
}

// Resolve returns the values of the credential name, with every ${VAR} reference replaced by
// the variable's value from lookupEnv (os.LookupEnv, usually) and every escaped literal
// unescaped. A reference to a variable that is not set is an error naming the variable, the
// key and the credential (never a value).
func (s *Store) Resolve(name string, lookupEnv func(string) (string, bool)) (Values, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	kv, ok := s.creds()[name]
	if !ok {
		return Values{}, s.notFound(name)
	}
	out := make(map[string]string, len(kv))
	var missing []string
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		text, ref, err := parseValue(kv[k])
		if err != nil {
			return Values{}, fmt.Errorf("credential %s: %w", name, err) // Set and Open refuse these
		}
		if !ref {
			out[k] = text
			continue
		}
		var v string
		set := false
		if lookupEnv != nil {
			v, set = lookupEnv(text)
		}
		if !set {
			missing = append(missing, fmt.Sprintf("%s refers to ${%s}", k, text))
			continue
		}
		out[k] = v
	}
	if len(missing) == 1 {
		return Values{}, fmt.Errorf("credential %s: %s, which is not set in the environment; set it, or store the value itself with `airlock secret set %s KEY=-`", name, missing[0], name)
	}
	if len(missing) > 1 {
		return Values{}, fmt.Errorf("credential %s: %s, which are not set in the environment; set them, or store the values themselves with `airlock secret set %s KEY=-`", name, strings.Join(missing, " and "), name)
	}
	return newValues(out), nil
}

// Save writes the store to its file atomically (a temporary file in the same directory,
// synced, renamed over the old one), mode 0600, creating the directory with mode 0700 when it
// is missing. Every save uses a new random nonce.
func (s *Store) Save() error {
	if s.key.IsZero() {
		return fmt.Errorf("save %s: %w: set %s or create a key file", s.path, ErrNoKey, KeyEnv)
	}
	s.mu.RLock()
	plain, err := encodePayload(s.creds())
	s.mu.RUnlock()
	if err != nil {
		return fmt.Errorf("save %s: %w", s.path, err)
	}
	data, err := seal(s.key, plain)
	clear(plain)
	if err != nil {
		return fmt.Errorf("save %s: %w", s.path, err)
	}
	if err := writeFileAtomic(s.path, data); err != nil {
		return fmt.Errorf("save %s: %w", s.path, err)
	}
	return nil
}

func (s *Store) redacted() string {
	if s == nil {
		return "secrets.Store(nil)"
	}
	return fmt.Sprintf("secrets.Store(%s: %s)", s.path, strings.Join(s.Names(), ", "))
}

// String is the store's path and credential names, never a value.
func (s *Store) String() string { return s.redacted() }

// GoString is String.
func (s *Store) GoString() string { return s.redacted() }

// Format prints the redacted form under every verb.
func (s *Store) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.redacted()) }

// LogValue is the redacted form.
func (s *Store) LogValue() slog.Value { return slog.StringValue(s.redacted()) }

// MarshalJSON is the redacted form.
func (s *Store) MarshalJSON() ([]byte, error) { return jsonString(s.redacted()), nil }
