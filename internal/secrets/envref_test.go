package secrets

import "testing"

func TestParseValue(t *testing.T) {
	tests := []struct {
		in      string
		text    string
		ref     bool
		wantErr bool
	}{
		{"192.168.1.100", "192.168.1.100", false, false},
		{"", "", false, false},
		{"${HUE_KEY}", "HUE_KEY", true, false},
		{"${_x9}", "_x9", true, false},
		{"$${HUE_KEY}", "${HUE_KEY}", false, false}, // escaped: the literal text
		{"$$${HUE_KEY}", "$${HUE_KEY}", false, false},
		{"$${not a name}", "${not a name}", false, false}, // escaped, so anything goes inside
		{"p$ss", "p$ss", false, false},
		{"$HOME", "$HOME", false, false},
		{"a${X}b", "a${X}b", false, false},
		{"${X}b", "${X}b", false, false},
		{"$", "$", false, false},
		{"${", "${", false, false},
		{"$}", "$}", false, false},
		{"${}", "", false, true},
		{"${A B}", "", false, true},
		{"${9X}", "", false, true},
		{"${X}${Y}", "", false, true},
		{"${X-Y}", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			text, ref, err := parseValue(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseValue(%q) error %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if text != tt.text || ref != tt.ref {
				t.Errorf("parseValue(%q) = %q, %v; want %q, %v", tt.in, text, ref, tt.text, tt.ref)
			}
		})
	}
}

func TestEscapeLiteral(t *testing.T) {
	for _, s := range []string{"plain", "", "$", "${X}", "$${X}", "${not a name}", "${}", "$HOME", "a${X}b", "{x}", "$$"} {
		stored := EscapeLiteral(s)
		text, ref, err := parseValue(stored)
		if err != nil || ref || text != s {
			t.Errorf("EscapeLiteral(%q) = %q, which reads back as %q, ref=%v, err=%v", s, stored, text, ref, err)
		}
	}
}
