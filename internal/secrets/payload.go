package secrets

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// payload is the decrypted content of the store file.
type payload struct {
	Credentials map[string]map[string]string `json:"credentials"`
}

// encodePayload is the JSON of creds; encoding/json sorts map keys, so equal stores encode
// equally.
func encodePayload(creds map[string]map[string]string) ([]byte, error) {
	if creds == nil {
		creds = map[string]map[string]string{}
	}
	return json.Marshal(payload{Credentials: creds})
}

// decodePayload parses and validates decrypted JSON strictly: unknown fields, trailing data,
// invalid names, keys or values and empty credentials are errors. Error messages never quote
// a value.
func decodePayload(data []byte) (map[string]map[string]string, error) {
	var p payload
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: the decrypted content is not valid: %v", ErrCorrupt, jsonErr(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: the decrypted content has data after its end", ErrCorrupt)
	}
	if p.Credentials == nil {
		return nil, fmt.Errorf("%w: the decrypted content has no \"credentials\" object", ErrCorrupt)
	}
	for name, kv := range p.Credentials {
		if err := checkName(name); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if len(kv) == 0 {
			return nil, fmt.Errorf("%w: credential %s has no keys", ErrCorrupt, name)
		}
		if len(kv) > maxKeys {
			return nil, fmt.Errorf("%w: credential %s has %d keys; at most %d are allowed", ErrCorrupt, name, len(kv), maxKeys)
		}
		for k, v := range kv {
			if err := checkKey(k); err != nil {
				return nil, fmt.Errorf("%w: credential %s: %v", ErrCorrupt, name, err)
			}
			if err := checkValue(k, v); err != nil {
				return nil, fmt.Errorf("%w: credential %s: %v", ErrCorrupt, name, err)
			}
		}
	}
	return p.Credentials, nil
}

// jsonErr describes a decoding error without the text that failed to decode (which may be a
// secret): the kind of error and the offset.
func jsonErr(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("JSON syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("%s at byte %d is not a %s", typ.Value, typ.Offset, typ.Type)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends early"
	default:
		// DisallowUnknownFields: `json: unknown field "x"` names a field, not a value.
		return err.Error()
	}
}

// jsonString is the JSON encoding of s.
func jsonString(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}
