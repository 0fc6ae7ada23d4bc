package approval

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// digestPrefix starts every digest: the algorithm, so that another one can follow.
const digestPrefix = "sha256:"

// Digest returns "sha256:" and the hex SHA-256 of the canonical JSON encoding of v: v is
// encoded with encoding/json, decoded into generic values (numbers kept as written) and
// encoded again, so the digest depends on the declaration's content only — object keys are
// sorted, struct field order and white space do not matter. The bytes hashed are compact JSON
// with encoding/json's escaping (<, > and & as \u003c, \u003e, \u0026); changing that
// encoding would unapprove everything, so a test pins it.
//
// Callers pass the declaration as the user wrote it — URL templates with {{credential.KEY}},
// ${VAR} references, not resolved credential values — so that the digest never depends on a
// secret (and a rotated token needs no new approval), while any change to what the binding
// may do (a method, a template, its network policy) does.
func Digest(v any) (string, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("digest: %w", err)
	}
	canon, err := canonicalJSON(raw)
	if err != nil {
		return "", fmt.Errorf("digest: %w", err)
	}
	sum := sha256.Sum256(canon)
	return digestPrefix + hex.EncodeToString(sum[:]), nil
}

// canonicalJSON re-encodes JSON with sorted object keys and no insignificant white space.
func canonicalJSON(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, err
	}
	return json.Marshal(generic)
}

// checkDigest reports whether d is a digest as Digest makes them.
func checkDigest(d string) error {
	hexPart, ok := strings.CutPrefix(d, digestPrefix)
	if !ok || len(hexPart) != 2*sha256.Size || strings.ToLower(hexPart) != hexPart {
		return fmt.Errorf("%q is not a digest (sha256: and 64 lower-case hex digits)", d)
	}
	if _, err := hex.DecodeString(hexPart); err != nil {
		return fmt.Errorf("%q is not a digest (sha256: and 64 lower-case hex digits)", d)
	}
	return nil
}

// short abbreviates a digest for messages: sha256:ab12cd34ef56….
func short(d string) string {
	if len(d) > len(digestPrefix)+12 {
		return d[:len(digestPrefix)+12] + "…"
	}
	return d
}
