package approval

import "testing"

// BenchmarkDigest hashes a binding-sized declaration, what every start pays per binding.
func BenchmarkDigest(b *testing.B) {
	decl := map[string]any{
		"type":       "local-network",
		"credential": "lg-tv",
		"network":    map[string]any{"allow": []string{"{{credential.tvIP}}:3000"}, "allow_private_ips": true, "timeout": "5s"},
		"methods": map[string]any{
			"sendCommand": map[string]any{"params": map[string]any{"command": map[string]any{"type": "string", "enum": []string{"POWER_ON", "POWER_OFF"}}}, "request": map[string]any{"method": "POST", "url": "http://{{credential.tvIP}}:3000/command"}},
			"getStatus":   map[string]any{"request": map[string]any{"method": "GET", "url": "http://{{credential.tvIP}}:3000/status"}},
			"setVolume":   map[string]any{"params": map[string]any{"level": map[string]any{"type": "integer", "min": 0, "max": 100}}, "request": map[string]any{"method": "POST", "url": "http://{{credential.tvIP}}:3000/volume"}},
		},
	}
	for b.Loop() {
		if _, err := Digest(decl); err != nil {
			b.Fatal(err)
		}
	}
}
