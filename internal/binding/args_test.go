package binding

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// argMethod compiles a method with params whose request uses every parameter in the JSON body.
func argMethod(t testing.TB, params ...Param) *compiledMethod {
	t.Helper()
	body := map[string]any{}
	for _, p := range params {
		body[p.Name] = "{{" + p.Name + "}}"
	}
	d := &Declaration{Name: "lgRemote", Type: TypeLocalNetwork, Network: policy0(),
		Methods: map[string]*Method{"setVolume": {Name: "setVolume", Params: params,
			Request: &Request{Method: "POST", URL: "http://h.lan/x", JSON: body}}}}
	cd, err := compileDecl(d)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return cd.methods["setVolume"]
}

func TestBindArgs(t *testing.T) {
	level := Param{Name: "level", Type: TypeInteger, Min: f64(0), Max: f64(100)}
	mute := Param{Name: "mute", Type: TypeBoolean, Default: false}
	note := Param{Name: "note", Type: TypeString, Optional: true, MaxLength: 5}
	cmd := Param{Name: "command", Type: TypeString, Enum: []any{"POWER_ON", "POWER_OFF"}}
	state := Param{Name: "state", Type: TypeObject}
	id := Param{Name: "id", Type: TypeString, Pattern: "[0-9]+"}
	ratio := Param{Name: "ratio", Type: TypeNumber, Min: f64(0), Max: f64(1)}
	list := Param{Name: "xy", Type: TypeArray, MaxLength: 20}
	for _, tt := range []struct {
		name   string
		params []Param
		args   []string // raw JSON
		want   map[string]any
	}{
		{"positional", []Param{level}, []string{"20"}, map[string]any{"level": int64(20)}},
		{"named", []Param{level}, []string{`{"level": 20}`}, map[string]any{"level": int64(20)}},
		{"integer as 20.0", []Param{level}, []string{"20.0"}, map[string]any{"level": int64(20)}},
		{"integer as 2e1", []Param{level}, []string{"2e1"}, map[string]any{"level": int64(20)}},
		{"bounds inclusive", []Param{level}, []string{"100"}, map[string]any{"level": int64(100)}},
		{"default", []Param{level, mute}, []string{"1"}, map[string]any{"level": int64(1), "mute": false}},
		{"null takes the default", []Param{level, mute}, []string{"1", "null"}, map[string]any{"level": int64(1), "mute": false}},
		{"named default", []Param{level, mute}, []string{`{"level": 1, "mute": true}`}, map[string]any{"level": int64(1), "mute": true}},
		{"optional absent", []Param{level, note}, []string{"1"}, map[string]any{"level": int64(1)}},
		{"optional given", []Param{level, note}, []string{"1", `"héllo"`}, map[string]any{"level": int64(1), "note": "héllo"}},
		{"enum", []Param{cmd}, []string{`"POWER_ON"`}, map[string]any{"command": "POWER_ON"}},
		{"pattern", []Param{id}, []string{`"42"`}, map[string]any{"id": "42"}},
		{"number", []Param{ratio}, []string{"0.5"}, map[string]any{"ratio": 0.5}},
		{"first param object: positional", []Param{state}, []string{`{"on": true}`}, map[string]any{"state": json.RawMessage(`{"on":true}`)}},
		{"first param object: named too", []Param{state, level}, []string{`{"on": true}`, "3"}, map[string]any{"state": json.RawMessage(`{"on":true}`), "level": int64(3)}},
		{"array", []Param{list}, []string{"[0.1, 0.2]"}, map[string]any{"xy": json.RawMessage(`[0.1,0.2]`)}},
		{"no params, empty object", nil, []string{"{}"}, map[string]any{}},
		{"no params, no args", nil, nil, map[string]any{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cm := argMethod(t, tt.params...)
			raw := make([]json.RawMessage, len(tt.args))
			for i, a := range tt.args {
				raw[i] = json.RawMessage(a)
			}
			got, err := cm.bindArgs(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestBindArgsErrors(t *testing.T) {
	level := Param{Name: "level", Type: TypeInteger, Min: f64(0), Max: f64(100)}
	cmd := Param{Name: "command", Type: TypeString, Enum: []any{"POWER_ON", "POWER_OFF"}}
	id := Param{Name: "id", Type: TypeString, Pattern: "[0-9]+", MaxLength: 4}
	pin := Param{Name: "pin", Type: TypeString, Pattern: "[0-9]{4}", Secret: true}
	on := Param{Name: "on", Type: TypeBoolean}
	f := Param{Name: "f", Type: TypeNumber, Min: f64(0.5)}
	obj := Param{Name: "o", Type: TypeObject, MaxLength: 10}
	for _, tt := range []struct {
		name   string
		params []Param
		args   []string
		want   string
	}{
		{"string for integer", []Param{level}, []string{`"loud"`}, `lgRemote.setVolume: level must be an integer from 0 to 100, got "loud"`},
		{"above max", []Param{level}, []string{"101"}, `level must be an integer from 0 to 100, got 101`},
		{"below min", []Param{level}, []string{"-1"}, `got -1`},
		{"fraction", []Param{level}, []string{"20.5"}, `got 20.5`},
		{"beyond 2^53", []Param{{Name: "n", Type: TypeInteger}}, []string{"9007199254740993"}, `n must be an integer, got 9007199254740993`},
		{"beyond 2^53 as float", []Param{{Name: "n", Type: TypeInteger}}, []string{"1e300"}, `n must be an integer, got 1e300`},
		{"numeric string", []Param{level}, []string{`"20"`}, `got "20"`},
		{"bool for integer", []Param{level}, []string{"true"}, `got true`},
		{"object for integer, named", []Param{level}, []string{`{"level": {}}`}, `level must be an integer from 0 to 100, got an object`},
		{"list", []Param{level}, []string{"[1]"}, `got a list`},
		{"missing", []Param{level}, nil, `lgRemote.setVolume: level is required (an integer from 0 to 100); the parameters are level (an integer from 0 to 100)`},
		{"null for required", []Param{level}, []string{"null"}, `level is required`},
		{"too many", []Param{level}, []string{"1", "2"}, `takes at most 1 argument, got 2`},
		{"unknown named", []Param{level}, []string{`{"levle": 20}`}, `unknown argument "levle"; the parameters are level (an integer from 0 to 100) (a single object argument is read as named arguments)`},
		{"named missing", []Param{level}, []string{`{}`}, `level is required`},
		{"enum", []Param{cmd}, []string{`"REBOOT"`}, `command must be one of "POWER_ON", "POWER_OFF", got "REBOOT"`},
		{"enum case", []Param{cmd}, []string{`"power_on"`}, `got "power_on"`},
		{"pattern", []Param{id}, []string{`"4x"`}, `id must be a string of at most 4 characters matching [0-9]+, got "4x"`},
		{"pattern anchored", []Param{id}, []string{`"x42"`}, `got "x42"`},
		{"max length", []Param{id}, []string{`"12345"`}, `got "12345"`},
		{"secret not shown", []Param{pin}, []string{`"12345"`}, `pin must be a string matching [0-9]{4}, got a value that is not shown (the parameter is secret)`},
		{"bool", []Param{on}, []string{`"true"`}, `on must be true or false, got "true"`},
		{"number min", []Param{f}, []string{"0.25"}, `f must be a number of at least 0.5, got 0.25`},
		{"object for object", []Param{obj}, []string{`[]`}, `o must be an object, got a list`},
		{"object too big", []Param{obj, level}, []string{`{"a": "0123456789"}`, "1"}, `o must be an object, got an object`},
		{"long string cut", []Param{{Name: "s", Type: TypeString, MaxLength: 3}}, []string{`"` + strings.Repeat("x", 100) + `"`}, `(100 characters)`},
		{"no params", nil, []string{"1"}, `takes at most 0 arguments, got 1; lgRemote.setVolume takes no arguments`},
		{"not JSON", []Param{level}, []string{"{"}, `is not a valid JSON object`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cm := argMethod(t, tt.params...)
			raw := make([]json.RawMessage, len(tt.args))
			for i, a := range tt.args {
				raw[i] = json.RawMessage(a)
			}
			got, err := cm.bindArgs(raw)
			if err == nil {
				t.Fatalf("accepted: %#v", got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error:\n got %s\nwant …%s…", err, tt.want)
			}
			var ce *CallError
			if !asCallError(err, &ce) || ce.Reason != ReasonInvalidArguments {
				t.Errorf("not a CallError with reason invalid_arguments: %#v", err)
			}
			for _, p := range tt.params {
				if p.Secret {
					for _, a := range tt.args {
						if strings.Contains(err.Error(), strings.Trim(a, `"`)) {
							t.Errorf("the error repeats a secret value: %s", err)
						}
					}
				}
			}
		})
	}
}

func asCallError(err error, ce **CallError) bool {
	c, ok := err.(*CallError)
	*ce = c
	return ok
}
