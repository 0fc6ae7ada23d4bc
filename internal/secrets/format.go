package secrets

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
)

// The store file:
//
//	"airlock-secrets v1\n"   the header line: what the file is and its format version
//	8 bytes                  key id: HKDF-SHA256(key, info "airlock-secrets v1 key id"), so a
//	                         wrong key is told apart from a damaged file
//	12 bytes                 nonce, random for every write
//	the rest                 AES-256-GCM ciphertext and tag of the JSON payload, under the key
//	                         HKDF-SHA256(key, info "airlock-secrets v1 encryption"), with the
//	                         header line and key id as additional data (a changed version or
//	                         key id fails authentication)
//
// The payload is {"credentials":{"NAME":{"KEY":"VALUE",...},...}}.
const (
	magic         = "airlock-secrets v"
	formatVersion = 1
	keyIDLen      = 8
	nonceLen      = 12
	tagLen        = 16
	maxHeaderLine = len(magic) + 10
	maxStoreFile  = 16 << 20
)

var (
	// ErrWrongKey: the store was written with another key.
	ErrWrongKey = errors.New("wrong key")
	// ErrCorrupt: the store file is not one airlock wrote, or it was changed or damaged.
	ErrCorrupt = errors.New("damaged or modified file")
)

// envelope is a parsed store file.
type envelope struct {
	version    int
	aad        []byte // header line and key id
	keyID      []byte
	nonce      []byte
	ciphertext []byte
}

// parseEnvelope splits a store file into its parts without decrypting it.
func parseEnvelope(data []byte) (envelope, error) {
	var e envelope
	if !bytes.HasPrefix(data, []byte(magic)) {
		return e, fmt.Errorf("%w: not an airlock secrets file (it does not start with %q)", ErrCorrupt, magic)
	}
	nl := bytes.IndexByte(data[:min(len(data), maxHeaderLine)], '\n')
	if nl < 0 {
		return e, fmt.Errorf("%w: the header line does not end", ErrCorrupt)
	}
	digits := string(data[len(magic):nl])
	v, err := strconv.Atoi(digits)
	if err != nil || v < 1 || strconv.Itoa(v) != digits {
		return e, fmt.Errorf("%w: the header names no format version", ErrCorrupt)
	}
	if v != formatVersion {
		return e, fmt.Errorf("format version %d; this airlock reads only version %d — use a newer airlock", v, formatVersion)
	}
	rest := data[nl+1:]
	if len(rest) < keyIDLen+nonceLen+tagLen {
		return e, fmt.Errorf("%w: truncated (%d bytes after the header)", ErrCorrupt, len(rest))
	}
	e.version = v
	e.aad = data[:nl+1+keyIDLen]
	e.keyID = rest[:keyIDLen]
	e.nonce = rest[keyIDLen : keyIDLen+nonceLen]
	e.ciphertext = rest[keyIDLen+nonceLen:]
	return e, nil
}

// seal encrypts plain into a store file.
func seal(k Key, plain []byte) ([]byte, error) {
	aead, id, err := k.cipher()
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(magic)+3+keyIDLen+nonceLen+len(plain)+tagLen)
	out = append(out, magic...)
	out = strconv.AppendInt(out, formatVersion, 10)
	out = append(out, '\n')
	out = append(out, id...)
	aad := bytes.Clone(out) // Seal's dst and additional data must not overlap
	nonce := make([]byte, nonceLen)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("random nonce: %w", err)
	}
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plain, aad), nil
}

// unseal decrypts a store file; the error wraps ErrWrongKey or ErrCorrupt.
func unseal(k Key, data []byte) ([]byte, error) {
	e, err := parseEnvelope(data)
	if err != nil {
		return nil, err
	}
	aead, id, err := k.cipher()
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(id, e.keyID) != 1 {
		return nil, ErrWrongKey
	}
	plain, err := aead.Open(nil, e.nonce, e.ciphertext, e.aad)
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed", ErrCorrupt)
	}
	return plain, nil
}

// cipher derives the AES-256-GCM cipher and the key id from k.
func (k Key) cipher() (cipher.AEAD, []byte, error) {
	if k.b == nil {
		return nil, nil, ErrNoKey
	}
	encKey, err := hkdf.Key(sha256.New, k.b()[:], nil, "airlock-secrets v1 encryption", KeySize)
	if err != nil {
		return nil, nil, err
	}
	id, err := hkdf.Key(sha256.New, k.b()[:], nil, "airlock-secrets v1 key id", keyIDLen)
	if err != nil {
		return nil, nil, err
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, nil, err
	}
	return aead, id, nil
}
