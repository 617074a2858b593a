package output

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestDirContents: a run directory's contents leave out the lock file and
// the temporary files WriteFileAtomic's pattern makes (whatever the base
// name, even an empty one), and keep everything else a user may have put
// there, sorted; a missing directory has none; a path that is not a
// directory is an error. RemoveStaleTemps removes exactly those temporary
// files.
func TestDirContents(t *testing.T) {
	dir := t.TempDir()
	if names, err := DirContents(filepath.Join(dir, "missing")); names != nil || err != nil {
		t.Errorf("a missing directory: %v, %v; want nil, nil", names, err)
	}
	if names, err := DirContents(dir); names != nil || err != nil {
		t.Errorf("an empty directory: %v, %v; want nil, nil", names, err)
	}
	user := []string{".a.tmpx", ".d.tmp1", ".tmp3", "b.csv", "user.tmp5"}
	for _, name := range user {
		if name == ".d.tmp1" {
			os.Mkdir(filepath.Join(dir, name), 0o755)
			continue
		}
		os.WriteFile(filepath.Join(dir, name), nil, 0o644)
	}
	os.WriteFile(filepath.Join(dir, LockFile), nil, 0o644)
	var temps []string
	for _, base := range []string{"stats.csv", "x", ""} {
		f, err := os.CreateTemp(dir, "."+base+TempSuffix+"*")
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		temps = append(temps, filepath.Base(f.Name()))
	}
	slices.Sort(temps)
	names, err := DirContents(dir)
	if err != nil || !slices.Equal(names, user) {
		t.Errorf("DirContents: %v, %v; want %v", names, err, user)
	}
	if _, err := DirContents(filepath.Join(dir, "b.csv")); err == nil {
		t.Error("DirContents of a regular file: no error")
	}
	removed, err := RemoveStaleTemps(dir)
	if err != nil || !slices.Equal(removed, temps) {
		t.Errorf("RemoveStaleTemps: %v, %v; want %v", removed, err, temps)
	}
	if names, _ := DirContents(dir); !slices.Equal(names, user) {
		t.Errorf("after RemoveStaleTemps: %v; want %v", names, user)
	}
}
