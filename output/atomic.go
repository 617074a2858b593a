package output

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFileAtomic writes a file through write so that a regular file at
// path always holds either its previous content (or nothing, if it did not
// exist) or the complete new content, never a mixture or a truncated file.
// What is at path decides how:
//
//   - nothing, or a regular file: the bytes go to a temporary file in the
//     same directory (a rename is atomic only within one file system),
//     which is flushed to disk (fsync) and renamed over path; finally the
//     directory itself is fsynced so that the rename survives a crash. The
//     new file has mode 0644 (subject to the umask).
//   - a symbolic link: it is followed (to any depth, also when its target
//     does not exist yet) and the target is written as above; the link
//     stays a link.
//   - a character device or a named pipe (/dev/null, a terminal, the pipe
//     behind /dev/stdout): written through in place, never replaced. Such a
//     write is not atomic, and a reader of a pipe may see part of it.
//   - anything else (a directory, a socket, a block device): refused
//     before anything is written.
//
// If write returns an error, or any step fails, the temporary file is
// removed, a regular file at path is left untouched and the error is
// returned.
func WriteFileAtomic(path string, write func(io.Writer) error) (err error) {
	target, through, err := writeTarget(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if through {
		return writeThrough(path, write)
	}
	path = target
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+TempSuffix+"*")
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

// TempSuffix marks the temporary files of WriteFileAtomic: a file named
// "." + base + TempSuffix + random digits is one that a killed process left
// behind (RemoveStaleTemps clears them).
const TempSuffix = ".tmp"

// maxLinkHops bounds symbolic-link resolution, as the kernel does (40).
const maxLinkHops = 40

// writeTarget decides how WriteFileAtomic writes path: through (in place)
// for a character device or named pipe, otherwise by replacing the regular
// file target (path with its symbolic links followed).
func writeTarget(path string) (target string, through bool, err error) {
	// os.Stat asks the kernel, which also follows the magic links of
	// /proc (/dev/stdout → /proc/self/fd/1 → a pipe or terminal).
	if fi, err := os.Stat(path); err == nil {
		switch m := fi.Mode(); {
		case m.IsRegular():
			target, err := filepath.EvalSymlinks(path)
			return target, false, err
		case m&os.ModeCharDevice != 0 || m&os.ModeNamedPipe != 0:
			return path, true, nil
		case m.IsDir():
			return "", false, errors.New("it is a directory; give a file name")
		default:
			return "", false, fmt.Errorf("it is a %v, not a regular file, character device or pipe; give a file name", m.Type())
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", false, err
	}
	// Nothing there, or a dangling link: follow links to the name the new
	// file will have.
	for range maxLinkHops {
		fi, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return path, false, nil
		}
		if err != nil {
			return "", false, err
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			return path, false, nil
		}
		dest, err := os.Readlink(path)
		if err != nil {
			return "", false, err
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(path), dest)
		}
		path = dest
	}
	return "", false, errors.New("too many levels of symbolic links")
}

// writeThrough writes into an existing character device or named pipe.
func writeThrough(path string, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	werr := write(f)
	cerr := f.Close()
	if werr != nil {
		return fmt.Errorf("write %s: %w", path, werr)
	}
	if cerr != nil {
		return fmt.Errorf("write %s: %w", path, cerr)
	}
	return nil
}

// CheckNotInput refuses an output path that names the same file as one of
// the inputs (also through links), so that a command never overwrites
// what it reads. Inputs that do not exist and empty names are skipped; so
// is an output that does not exist yet.
func CheckNotInput(out string, inputs ...string) error {
	fo, err := os.Stat(out)
	if err != nil || !fo.Mode().IsRegular() {
		return nil // a new file, or a device, pipe or directory: never an input file
	}
	for _, in := range inputs {
		if in == "" {
			continue
		}
		if fi, err := os.Stat(in); err == nil && os.SameFile(fo, fi) {
			return fmt.Errorf("%s is the same file as the input %s; writing it would destroy the input, give another output name", out, in)
		}
	}
	return nil
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
