package model

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadCouplingsMax: LoadCouplingsMax and LoadNPZCouplingsMax admit a
// file of up to maxN spins and refuse a larger one naming maxN, and never
// admit more than MaxSpins, whatever maxN.
func TestLoadCouplingsMax(t *testing.T) {
	m, err := SherringtonKirkpatrick(6, 1, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var txt, npz bytes.Buffer
	if err := m.WriteCouplings(&txt); err != nil {
		t.Fatal(err)
	}
	if err := m.WriteNPZ(&npz); err != nil {
		t.Fatal(err)
	}
	txtPath, npzPath := filepath.Join(dir, "J.txt"), filepath.Join(dir, "J.npz")
	os.WriteFile(txtPath, txt.Bytes(), 0o644)
	os.WriteFile(npzPath, npz.Bytes(), 0o644)
	for _, c := range []struct {
		name string
		load func(n, maxN int) (*Hamiltonian, error)
	}{
		{"text", func(n, maxN int) (*Hamiltonian, error) { return LoadCouplingsMax(txtPath, "", n, maxN) }},
		{"npz", func(n, maxN int) (*Hamiltonian, error) { return LoadNPZCouplingsMax(npzPath, n, maxN) }},
	} {
		if got, err := c.load(0, 6); err != nil || got.N != 6 {
			t.Errorf("%s, maxN 6: %v", c.name, err)
		}
		if _, err := c.load(0, 5); err == nil || !strings.Contains(err.Error(), "at most 5 spins") {
			t.Errorf("%s, maxN 5: %v; want a refusal naming 5", c.name, err)
		}
		want := fmt.Sprintf("at most %d spins", MaxSpins)
		if _, err := c.load(MaxSpins+1, 2*MaxSpins); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s, n = MaxSpins+1, maxN = 2·MaxSpins: %v; want %q", c.name, err, want)
		}
	}
}
