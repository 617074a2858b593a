// Package decimal parses numbers written the way people write them in data
// files and on command lines: plain decimal notation with an optional sign,
// fraction and exponent ("-0.25", "1.5e-3", "2", ".5", "3."). It exists
// because strconv.ParseFloat and ParseInt(s, 0, …) accept Go literal syntax
// too — "0x1p-1" is 0.5, "1_0" is 10, "0_5" is 5 — which a couplings file or
// a -beta flag must not silently read that way.
package decimal

import (
	"fmt"
	"math"
	"strconv"
)

// Valid reports whether s is a decimal number: an optional '+' or '-',
// digits with at most one '.' (at least one digit in all), and an optional
// exponent 'e' or 'E' with an optional sign and at least one digit. No
// spaces, underscores, hexadecimal, "inf" or "nan".
func Valid(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && isDigit(s[i]) {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && isDigit(s[i]) {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Parse returns the float64 nearest to the decimal number s. It fails for
// anything Valid refuses and for values that overflow float64 (|v| above
// ~1.8e308); underflow to zero or a subnormal is not an error.
func Parse(s string) (float64, error) {
	if !Valid(s) {
		return 0, fmt.Errorf("%q is not a decimal number (write e.g. -0.25 or 1.5e-3)", s)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is out of the float64 range", s)
	}
	return v, nil
}

// ParseIndex returns the non-negative integer written in s as plain digits
// ("17"), or as a decimal number with a whole value ("17.0", "1.7e1", as
// numpy.savetxt writes integer columns; then at most 2^53 in magnitude, so
// that the value is exact). It fails for fractions, plain digits beyond
// int64 and anything Valid refuses. A leading '-' is parsed (the caller
// judges negative indices).
func ParseIndex(s string) (int64, error) {
	plain := len(s) > 0
	for i := 0; i < len(s); i++ {
		plain = plain && isDigit(s[i])
	}
	if plain {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is too large", s)
		}
		return v, nil
	}
	f, err := Parse(s)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	return int64(f), nil
}
