package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
)

// MarshalJSON is json.Marshal, except that a float that is NaN or ±Inf is
// written as null instead of failing, and <, > and & are not escaped: every JSON this package and the
// command write (result lines, summary.json) goes through it, so an
// undefined figure (the statistics of a β without samples, say) reads as
// None in Python rather than breaking the file. Struct fields follow
// encoding/json's rules for names, omitempty, "-" and embedded structs;
// values that implement json.Marshaler marshal themselves.
func MarshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := encodeValue(&buf, reflect.ValueOf(v)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var marshalerType = reflect.TypeFor[json.Marshaler]()

// encodeValue writes v as JSON; see MarshalJSON.
func encodeValue(buf *bytes.Buffer, v reflect.Value) error {
	if !v.IsValid() {
		buf.WriteString("null")
		return nil
	}
	if v.Type().Implements(marshalerType) && !(v.Kind() == reflect.Pointer && v.IsNil()) {
		return encodePlain(buf, v.Interface())
	}
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			buf.WriteString("null")
			return nil
		}
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			buf.WriteString("null")
			return nil
		}
		return encodeValue(buf, v.Elem())
	case reflect.Struct:
		return encodeStruct(buf, v)
	case reflect.Map:
		if v.IsNil() {
			buf.WriteString("null")
			return nil
		}
		if v.Type().Key().Kind() != reflect.String {
			return fmt.Errorf("output: JSON: map key type %s is not a string", v.Type().Key())
		}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		buf.WriteByte('{')
		for k, key := range keys {
			if k > 0 {
				buf.WriteByte(',')
			}
			if err := encodePlain(buf, key.String()); err != nil {
				return err
			}
			buf.WriteByte(':')
			if err := encodeValue(buf, v.MapIndex(key)); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
		return nil
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			buf.WriteString("null")
			return nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			break // []byte: base64, as encoding/json
		}
		buf.WriteByte('[')
		for k := range v.Len() {
			if k > 0 {
				buf.WriteByte(',')
			}
			if err := encodeValue(buf, v.Index(k)); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	}
	return encodePlain(buf, v.Interface())
}

// encodePlain writes a value that holds no float to be nulled, as
// encoding/json does but without escaping <, > and & (the output is not
// HTML).
func encodePlain(buf *bytes.Buffer, v any) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1) // Encode's newline
	return nil
}

// encodeStruct writes the exported fields of struct v as a JSON object,
// with embedded structs' fields promoted as encoding/json does (a field
// hides the fields of the same name of the structs it embeds).
func encodeStruct(buf *bytes.Buffer, v reflect.Value) error {
	buf.WriteByte('{')
	first := true
	if err := encodeFields(buf, v, nil, &first); err != nil {
		return err
	}
	buf.WriteByte('}')
	return nil
}

// jsonField is one field of a struct as encoding/json sees it.
type jsonField struct {
	name      string
	omitempty bool
	embedded  bool // an embedded struct (or pointer to one) without a name
	index     int
}

// fieldsOf returns the JSON fields of struct type t in declaration order.
func fieldsOf(t reflect.Type) []jsonField {
	var out []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			out = append(out, jsonField{embedded: true, index: i})
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{name: name, omitempty: slices.Contains(strings.Split(opts, ","), "omitempty"), index: i})
	}
	return out
}

// encodeFields writes the fields of struct v, in declaration order, with
// those of embedded structs in the embedding's place; names in hidden
// belong to a shallower struct and are left out.
func encodeFields(buf *bytes.Buffer, v reflect.Value, hidden map[string]bool, first *bool) error {
	fields := fieldsOf(v.Type())
	inner := maps.Clone(hidden)
	if inner == nil {
		inner = map[string]bool{}
	}
	for _, f := range fields {
		if !f.embedded {
			inner[f.name] = true
		}
	}
	for _, f := range fields {
		fv := v.Field(f.index)
		if f.embedded {
			if fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					continue
				}
				fv = fv.Elem()
			}
			if err := encodeFields(buf, fv, inner, first); err != nil {
				return err
			}
			continue
		}
		if hidden[f.name] || (f.omitempty && isEmpty(fv)) {
			continue
		}
		if !*first {
			buf.WriteByte(',')
		}
		*first = false
		if err := encodePlain(buf, f.name); err != nil {
			return err
		}
		buf.WriteByte(':')
		if err := encodeValue(buf, fv); err != nil {
			return err
		}
	}
	return nil
}

// isEmpty is encoding/json's notion of an empty value for omitempty.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}
