package secrets

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// The environment variables the command line reads. The package never reads them; it names
// them in messages.
const (
	KeyEnv  = "AIRLOCK_SECRET_KEY"   // the key, base64 or hex of 32 bytes
	FileEnv = "AIRLOCK_SECRETS_FILE" // another store file
)

// KeySize is the size of a key in bytes: AES-256.
const KeySize = 32

// maxKeyFile bounds what LoadKey reads from a key file.
const maxKeyFile = 4 << 10

var (
	// ErrNoKey: there is no key (the environment variable is unset and the key file is absent).
	ErrNoKey = errors.New("no secret key")
	// ErrInsecureFile: a store or key file is readable or writable by others, or owned by
	// another user.
	ErrInsecureFile = errors.New("insecure file permissions")
)

// Key is the 32-byte key the store is encrypted with, and where it came from (for messages).
// The zero Key is "no key": Open accepts it only for a store file that does not exist yet.
// A Key formats as its source only; the bytes never appear in output.
type Key struct {
	b      hidden[*[KeySize]byte] // nil: no key
	source string
}

// NewKey returns a Key of the 32 bytes b; source says where they came from ("AIRLOCK_SECRET_KEY",
// a file name) and appears in messages such as the wrong-key error.
func NewKey(b []byte, source string) (Key, error) {
	if len(b) != KeySize {
		return Key{}, fmt.Errorf("%s: a key is exactly %d bytes, not %d", source, KeySize, len(b))
	}
	kb := new([KeySize]byte)
	copy(kb[:], b)
	return Key{b: hide(kb), source: source}, nil
}

// ParseKey decodes a key written as base64 (standard or URL alphabet, padded or not: 43 or 44
// characters) or hex (64 characters) of exactly 32 bytes. Surrounding white space is ignored.
// The text is never quoted in the error.
func ParseKey(text, source string) (Key, error) {
	s := strings.TrimSpace(text)
	if len(s) == 2*KeySize {
		if b, err := hex.DecodeString(s); err == nil {
			return NewKey(b, source)
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KeySize {
				return Key{}, fmt.Errorf("%s: a key is %d bytes written as base64 (44 characters) or hex (64 characters); this base64 decodes to %d bytes — make one with `head -c 32 /dev/urandom | base64`", source, KeySize, len(b))
			}
			return NewKey(b, source)
		}
	}
	return Key{}, fmt.Errorf("%s: a key is %d bytes written as base64 (44 characters) or hex (64 characters); this is %d characters of neither — make one with `head -c 32 /dev/urandom | base64`", source, KeySize, len(s))
}

// LoadKey returns the store's key: envValue (the value of AIRLOCK_SECRET_KEY) when it is not
// empty, else the key file keyFile. When the key file does not exist and create is true, a new
// random key is written to it (mode 0600, its directory 0700 when created); when create is
// false the error wraps ErrNoKey. A key file readable or writable by group or others, or owned
// by another user, is refused (ErrInsecureFile).
func LoadKey(envValue, keyFile string, create bool) (Key, error) {
	if strings.TrimSpace(envValue) != "" {
		return ParseKey(envValue, KeyEnv)
	}
	if keyFile == "" {
		return Key{}, fmt.Errorf("%w: %s is not set and no key file was given", ErrNoKey, KeyEnv)
	}
	data, err := readPrivate(keyFile, maxKeyFile)
	if errors.Is(err, fs.ErrNotExist) {
		if !create {
			return Key{}, fmt.Errorf("%w: %s is not set and the key file %s does not exist", ErrNoKey, KeyEnv, keyFile)
		}
		return createKeyFile(keyFile)
	}
	if err != nil {
		return Key{}, err
	}
	return ParseKey(string(data), keyFile)
}

// createKeyFile writes a new random key to path without ever replacing an existing file: the
// key is written to a temporary file that is then hard-linked to path. If another process
// created path first, its key is used.
func createKeyFile(path string) (Key, error) {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return Key{}, fmt.Errorf("create key file %s: %w", path, err)
	}
	k, err := NewKey(b, path)
	if err != nil {
		return Key{}, err
	}
	text := []byte(base64.StdEncoding.EncodeToString(b) + "\n")
	tmp, err := writeTemp(path, text)
	if err != nil {
		return Key{}, fmt.Errorf("create key file %s: %w", path, err)
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return LoadKey("", path, false) // lost a race: use the key that won
		}
		return Key{}, fmt.Errorf("create key file %s: %w", path, err)
	}
	syncDir(filepath.Dir(path))
	return k, nil
}

// IsZero reports whether k is the zero Key (no key).
func (k Key) IsZero() bool { return k.b == nil }

// Source says where the key came from: KeyEnv or a key file's path.
func (k Key) Source() string { return k.source }

func (k Key) redacted() string {
	if k.b == nil {
		return "secrets.Key(none)"
	}
	return "secrets.Key(from " + k.source + ")"
}

// String returns "secrets.Key(from SOURCE)", never the key.
func (k Key) String() string { return k.redacted() }

// GoString is String: %#v does not print the key either.
func (k Key) GoString() string { return k.redacted() }

// Format prints the redacted form under every verb.
func (k Key) Format(f fmt.State, _ rune) { fmt.Fprint(f, k.redacted()) }

// LogValue is the redacted form.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.redacted()) }

// MarshalJSON is the redacted form.
func (k Key) MarshalJSON() ([]byte, error) { return jsonString(k.redacted()), nil }
