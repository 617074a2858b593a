package decimal

import (
	"math"
	"testing"
)

func TestParse(t *testing.T) {
	for s, want := range map[string]float64{
		"0": 0, "-0.25": -0.25, "+1.5e-3": 1.5e-3, "2": 2, ".5": 0.5, "3.": 3, "1E2": 100,
		"-7e+0": -7, "1e-400": 0, "0.1": 0.1, "123456789012345678901234567890": 1.2345678901234568e29,
	} {
		got, err := Parse(s)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if v, _ := Parse("-0"); !math.Signbit(v) {
		t.Error("-0 lost its sign")
	}
	for _, s := range []string{"", "-", ".", "e5", "1e", "1e+", "0x1p-1", "1_0", "0_5", "inf", "NaN", "+Inf",
		" 1", "1 ", "1..2", "1.2.3", "1e2.5", "--1", "0b11", "1,5", "1e400", "-1e309", "١"} {
		if v, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", s, v)
		}
	}
}

func TestParseIndex(t *testing.T) {
	for s, want := range map[string]int64{"0": 0, "17": 17, "17.0": 17, "1.7e1": 17, "007": 7, "9007199254740992": 1 << 53, "9007199254740993": 1<<53 + 1} {
		got, err := ParseIndex(s)
		if err != nil || got != want {
			t.Errorf("ParseIndex(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"1_0", "0x10", "1.5", "1e300", "9.007199254740994e15", "99999999999999999999", "abc", "", "+-1"} {
		if v, err := ParseIndex(s); err == nil {
			t.Errorf("ParseIndex(%q) = %v, want an error", s, v)
		}
	}
	// A sign is the caller's to judge: -3 parses (as a negative index).
	if v, err := ParseIndex("-3"); err != nil || v != -3 {
		t.Errorf("ParseIndex(-3) = %v, %v", v, err)
	}
}
