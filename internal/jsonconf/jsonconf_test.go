package jsonconf

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

type inner struct {
	Port int    `json:"port"`
	Host string `json:"host"`
}

type outer struct {
	Servers []struct {
		Server inner `json:"server"`
	} `json:"servers"`
	Ratio   float64         `json:"ratio"`
	Enabled *bool           `json:"enabled"`
	Names   []string        `json:"names"`
	Extra   json.RawMessage `json:"extra"`
	Small   uint8           `json:"small"`
	Labels  map[string]int  `json:"labels"`
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantKey string // "" means success
		unknown []string
	}{
		{name: "ok", in: `{"servers":[{"server":{"port":8000,"host":"::"}}],"ratio":0.5,"enabled":true,"names":["a"],"extra":{"x":1},"small":3,"labels":{"a":1}}`},
		{name: "integral float accepted", in: `{"servers":[{"server":{"port":8000.0}}]}`},
		{name: "null keeps default", in: `{"servers":null,"enabled":null}`},
		{name: "wrong type names key", in: `{"servers":[{"server":{"port":"8000"}}]}`, wantKey: "servers[0].server.port"},
		{name: "fraction", in: `{"servers":[{}, {"server":{"port":1.5}}]}`, wantKey: "servers[1].server.port"},
		{name: "overflow", in: `{"small":300}`, wantKey: "small"},
		{name: "negative unsigned", in: `{"small":-1}`, wantKey: "small"},
		{name: "array expected", in: `{"names":"a"}`, wantKey: "names"},
		{name: "object expected", in: `{"servers":[1]}`, wantKey: "servers[0]"},
		{name: "map value", in: `{"labels":{"a":"x"}}`, wantKey: "labels.a"},
		{name: "unknown keys reported", in: `{"nope":1,"servers":[{"server":{"cork":true}}]}`, unknown: []string{"nope", "servers[0].server.cork"}},
		{name: "invalid json", in: `{"a":`, wantKey: "cfg"},
		{name: "trailing data", in: `{} {}`, wantKey: "cfg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got outer
			var unk []string
			prefix := ""
			if tt.wantKey == "cfg" {
				prefix = "cfg"
			}
			err := Decode([]byte(tt.in), prefix, &got, func(p string) { unk = append(unk, p) })
			if tt.wantKey == "" {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
			} else {
				var ce *Error
				if !errors.As(err, &ce) {
					t.Fatalf("Decode error = %v, want *Error", err)
				}
				if ce.Key != tt.wantKey {
					t.Fatalf("error key = %q (%v), want %q", ce.Key, err, tt.wantKey)
				}
			}
			if !reflect.DeepEqual(unk, tt.unknown) {
				t.Fatalf("unknown = %q, want %q", unk, tt.unknown)
			}
		})
	}
}

func TestDecodeValues(t *testing.T) {
	var got outer
	in := `{"servers":[{"server":{"port":8443,"host":"127.0.0.1"}}],"enabled":false,"extra":[1,2],"labels":{"b":2}}`
	if err := Decode([]byte(in), "", &got, nil); err != nil {
		t.Fatal(err)
	}
	if got.Servers[0].Server.Port != 8443 || got.Servers[0].Server.Host != "127.0.0.1" {
		t.Fatalf("server = %+v", got.Servers[0].Server)
	}
	if got.Enabled == nil || *got.Enabled {
		t.Fatalf("enabled = %v, want pointer to false", got.Enabled)
	}
	if string(got.Extra) != "[1,2]" {
		t.Fatalf("extra = %s", got.Extra)
	}
	if got.Labels["b"] != 2 {
		t.Fatalf("labels = %v", got.Labels)
	}
}
