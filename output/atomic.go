package output

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteFileAtomic writes a file through write so that path always holds
// either its previous content (or nothing, if it did not exist) or the
// complete new content, never a mixture or a truncated file.
//
// The bytes go to a temporary file in the same directory (a rename is atomic
// only within one file system), which is flushed to disk (fsync) and then
// renamed over path; finally the directory itself is fsynced so that the
// rename survives a crash. If write returns an error, or any step fails, the
// temporary file is removed, path is left untouched and the error is
// returned. The new file has mode 0644 (subject to the umask).
func WriteFileAtomic(path string, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close() // a second Close only reports an error we ignore
			os.Remove(tmp)
		}
	}()
	if err = write(f); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write %s: sync: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(dir)
}

// syncDir fsyncs a directory so that a rename or a new entry in it is
// durable. File systems that cannot sync directories (EINVAL on some) are
// not an error: the data itself is already on disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) && !isEINVAL(err) {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// CheckWritable makes sure a run can write its files into dir before any
// training starts: it creates dir (and its parents, mode 0755) if missing,
// then creates, writes, syncs and removes a probe file in it. The error
// names the directory and says what failed.
func CheckWritable(dir string) error {
	if dir == "" {
		return errors.New("output directory: empty name; give a directory such as runs/cw_n20")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("output directory %s cannot be created: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".probe*")
	if err != nil {
		return fmt.Errorf("output directory %s is not writable: %w", dir, err)
	}
	name := f.Name()
	_, werr := f.Write([]byte("probe\n"))
	if werr == nil {
		werr = f.Sync()
	}
	cerr := f.Close()
	rerr := os.Remove(name)
	switch {
	case werr != nil:
		return fmt.Errorf("output directory %s is not writable: %w", dir, werr)
	case cerr != nil:
		return fmt.Errorf("output directory %s is not writable: %w", dir, cerr)
	case rerr != nil:
		return fmt.Errorf("output directory %s: cannot remove probe file: %w", dir, rerr)
	}
	return nil
}
