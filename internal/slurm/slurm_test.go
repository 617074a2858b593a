package slurm

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/array.sh from the output")

// TestScriptGolden compares a generated script with testdata/array.sh
// (regenerate with go test -run TestScriptGolden -update after a deliberate
// change, and read the diff).
func TestScriptGolden(t *testing.T) {
	s := &Script{
		JobName: "h2arnn-fig5",
		Comment: []string{"h2arnn reproduce fig5 -scale smoke: two runs.", ""},
		Bin:     "/opt/h2arnn/bin/h2arnn",
		RunsDir: "/scratch/my repro/runs", LogsDir: "/scratch/my repro/logs",
		Array: ArraySpec([]int{1, 0}, 4), CPUs: 2, MemMB: 192, Time: 95 * time.Minute,
		Extra: []string{"--partition=short", "--account=phys"},
		Tasks: []Task{
			{Index: 0, ID: "fig5_n008_i01_sk_rs", Command: "train", Args: []string{"-model", "sk", "-n", "8", "-seed", "1", "-arch", "sk_rs"}},
			{Index: 1, ID: "fig5_n008_i01_made_23", Command: "train", Args: []string{"-model", "sk", "-arch", "made", "-label", "it's"}},
			{Index: 2, ID: "fit", Command: "fit", Args: []string{"-data", RunsVar + "mc mc", "-arch", "plm"}},
		},
	}
	var b bytes.Buffer
	if err := s.Write(&b); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "array.sh")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("script differs from %s:\n%s", golden, b.String())
	}
}

func TestArraySpec(t *testing.T) {
	for _, c := range []struct {
		idx  []int
		p    int
		want string
	}{
		{nil, 4, ""},
		{[]int{0}, 0, "0"},
		{[]int{0, 1, 2, 3, 4}, 0, "0-4"},
		{[]int{9, 7, 0, 1, 2, 11, 10, 7}, 3, "0-2,7,9-11%3"},
		{[]int{5, 7}, 1, "5,7%1"},
	} {
		if got := ArraySpec(c.idx, c.p); got != c.want {
			t.Errorf("ArraySpec(%v, %d) = %q, want %q", c.idx, c.p, got, c.want)
		}
	}
}

func TestFormatTime(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0-00:01:00"},
		{59 * time.Second, "0-00:01:00"},
		{61 * time.Second, "0-00:02:00"},
		{25*time.Hour + 30*time.Minute, "1-01:30:00"},
		{49 * time.Hour, "2-01:00:00"},
	} {
		if got := FormatTime(c.d); got != c.want {
			t.Errorf("FormatTime(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"-beta-range": "-beta-range", "0.1,2,39": "0.1,2,39", "/a/b_c.d": "/a/b_c.d", "azAZ09": "azAZ09",
		"a`": "'a`'", "{": "'{'", "[": "'['", "~": "'~'",
		"": "''", "a b": "'a b'", "it's": `'it'\''s'`, "$HOME": "'$HOME'", "a;b": "'a;b'",
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestParseJobID(t *testing.T) {
	for in, want := range map[string]string{"42\n": "42", "1234;cluster\n": "1234"} {
		if got, err := ParseJobID(in); err != nil || got != want {
			t.Errorf("ParseJobID(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "Submitted batch job 42", "x;y"} {
		if _, err := ParseJobID(in); err == nil {
			t.Errorf("ParseJobID(%q) accepted", in)
		}
	}
}

func TestParseStates(t *testing.T) {
	out := "12_0|RUNNING\n12_[3-5]|PENDING\n12_1|PENDING\n13|RUNNING\n" +
		"14_2|FAILED|1:0\n14_2.batch|FAILED|1:0\n14_3|CANCELLED by 0|0:15\n14_4|TIMEOUT|0:0\n14_5|FAILED|130:0\n14_6|OUT_OF_MEMORY|0:125\n15_1|\n\n"
	st := ParseStates(out)
	if len(st) != 3 || len(st["12"]) != 2 || len(st["14"]) != 5 || st["15"][1].State != "" {
		t.Fatalf("ParseStates: %v", st)
	}
	for _, c := range []struct {
		job            string
		task           int
		state          string
		exit           int
		active, failed bool
	}{
		{"12", 0, "RUNNING", -1, true, false},
		{"12", 1, "PENDING", -1, true, false},
		{"14", 2, "FAILED", 1, false, true},
		{"14", 3, "CANCELLED", 0, false, false},
		{"14", 4, "TIMEOUT", 0, false, false},
		{"14", 5, "FAILED", 130, false, false},
		{"14", 6, "OUT_OF_MEMORY", 0, false, true},
	} {
		s := st[c.job][c.task]
		if s.State != c.state || s.Exit != c.exit || s.Active() != c.active || s.Failed() != c.failed {
			t.Errorf("%s_%d: %+v active %v failed %v, want %+v", c.job, c.task, s, s.Active(), s.Failed(), c)
		}
	}
}
