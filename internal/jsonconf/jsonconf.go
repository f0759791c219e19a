// Package jsonconf decodes JSON configuration strictly: a value of the wrong type is an
// error that names its key path ("servers[0].server.port: want an integer, got string"),
// and keys the target struct does not know are reported (not rejected), so real-world
// config files that carry extras still load.
//
// Target structs use ordinary `json:"name"` tags. Supported field kinds: string, bool,
// signed/unsigned integers (the JSON number must be integral), floats, pointers (nil
// stays nil when the key is absent; JSON null leaves the field untouched), slices,
// maps with string keys, nested structs, json.RawMessage and any.
package jsonconf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Error is a configuration error tied to one key path.
type Error struct {
	Key string // dotted key path, e.g. "servers[0].websockets.idleTimeout"
	Msg string
}

func (e *Error) Error() string {
	if e.Key == "" {
		return e.Msg
	}
	return e.Key + ": " + e.Msg
}

// Errorf builds an *Error for key; packages use it in their Validate methods so every
// config error names the JSON key the operator has to fix.
func Errorf(key, format string, args ...any) error {
	return &Error{Key: key, Msg: fmt.Sprintf(format, args...)}
}

// Join returns the dotted path of key below prefix.
func Join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	if strings.HasPrefix(key, "[") {
		return prefix + key
	}
	return prefix + "." + key
}

// Decode parses data (one JSON value) into dst, a non-nil pointer. prefix is the key path
// of data within the whole file ("" for the root). unknown, when non-nil, is called once
// for every object key that dst has no field for, with its full path.
func Decode(data []byte, prefix string, dst any, unknown func(path string)) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return &Error{Key: prefix, Msg: "invalid JSON: " + err.Error()}
	}
	if dec.More() {
		return &Error{Key: prefix, Msg: "invalid JSON: trailing data after the value"}
	}
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errors.New("jsonconf: Decode needs a non-nil pointer")
	}
	if unknown == nil {
		unknown = func(string) {}
	}
	return assign(tree, rv.Elem(), prefix, unknown)
}

var rawMessageType = reflect.TypeOf(json.RawMessage(nil))

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func assign(v any, dst reflect.Value, path string, unknown func(string)) error {
	if dst.Type() == rawMessageType {
		b, err := json.Marshal(v)
		if err != nil {
			return &Error{Key: path, Msg: err.Error()}
		}
		dst.SetBytes(b)
		return nil
	}
	if v == nil {
		// null: leave the zero value / default in place, like an absent key.
		return nil
	}
	mismatch := func(want string) error {
		return &Error{Key: path, Msg: fmt.Sprintf("want %s, got %s", want, kindOf(v))}
	}
	switch dst.Kind() {
	case reflect.Interface:
		dst.Set(reflect.ValueOf(plain(v)))
		return nil
	case reflect.Pointer:
		if dst.IsNil() {
			dst.Set(reflect.New(dst.Type().Elem()))
		}
		return assign(v, dst.Elem(), path, unknown)
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			return mismatch("a string")
		}
		dst.SetString(s)
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			return mismatch("true or false")
		}
		dst.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := v.(json.Number)
		if !ok {
			return mismatch("an integer")
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil || f != math.Trunc(f) || math.IsInf(f, 0) {
			return &Error{Key: path, Msg: fmt.Sprintf("want an integer, got %s", n)}
		}
		if dst.OverflowInt(int64(f)) || f > math.MaxInt64 || f < math.MinInt64 {
			return &Error{Key: path, Msg: fmt.Sprintf("%s is out of range", n)}
		}
		dst.SetInt(int64(f))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := v.(json.Number)
		if !ok {
			return mismatch("a non-negative integer")
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil || f != math.Trunc(f) || f < 0 || f > math.MaxUint64 {
			return &Error{Key: path, Msg: fmt.Sprintf("want a non-negative integer, got %s", n)}
		}
		if dst.OverflowUint(uint64(f)) {
			return &Error{Key: path, Msg: fmt.Sprintf("%s is out of range", n)}
		}
		dst.SetUint(uint64(f))
	case reflect.Float32, reflect.Float64:
		n, ok := v.(json.Number)
		if !ok {
			return mismatch("a number")
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return &Error{Key: path, Msg: fmt.Sprintf("want a number, got %s", n)}
		}
		dst.SetFloat(f)
	case reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			return mismatch("an array")
		}
		s := reflect.MakeSlice(dst.Type(), len(arr), len(arr))
		for i, e := range arr {
			if err := assign(e, s.Index(i), fmt.Sprintf("%s[%d]", path, i), unknown); err != nil {
				return err
			}
		}
		dst.Set(s)
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return mismatch("an object")
		}
		if dst.Type().Key().Kind() != reflect.String {
			return fmt.Errorf("jsonconf: unsupported map key type %s", dst.Type().Key())
		}
		m := reflect.MakeMapWithSize(dst.Type(), len(obj))
		for _, k := range sortedKeys(obj) {
			e := reflect.New(dst.Type().Elem()).Elem()
			if err := assign(obj[k], e, Join(path, k), unknown); err != nil {
				return err
			}
			m.SetMapIndex(reflect.ValueOf(k).Convert(dst.Type().Key()), e)
		}
		dst.Set(m)
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return mismatch("an object")
		}
		fields := structFields(dst.Type())
		for _, k := range sortedKeys(obj) {
			idx, ok := fields[k]
			if !ok {
				unknown(Join(path, k))
				continue
			}
			if err := assign(obj[k], dst.Field(idx), Join(path, k), unknown); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("jsonconf: unsupported field kind %s at %s", dst.Kind(), path)
	}
	return nil
}

func structFields(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = i
	}
	return m
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// plain converts json.Number leaves to float64 so `any` fields hold ordinary values.
func plain(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = plain(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = plain(x[k])
		}
	}
	return v
}
