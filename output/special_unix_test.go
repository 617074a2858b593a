//go:build unix

package output

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

// TestWriteFileAtomicKeepsSpecialFiles (issue 16 item 1): devices and pipes
// are written through, never replaced by a regular file; links are
// followed and stay links; directories and sockets are refused.
func TestWriteFileAtomicKeepsSpecialFiles(t *testing.T) {
	if err := WriteFileAtomic("/dev/null", writeString("x")); err != nil {
		t.Fatalf("/dev/null: %v", err)
	}
	if fi, err := os.Stat("/dev/null"); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("/dev/null is no longer a character device: %v %v", fi.Mode(), err)
	}
	if runtime.GOOS == "linux" {
		err := WriteFileAtomic("/dev/full", writeString(strings.Repeat("x", 1<<16)))
		if !errors.Is(err, syscall.ENOSPC) {
			t.Errorf("/dev/full: err = %v, want ENOSPC", err)
		}
		if fi, err := os.Stat("/dev/full"); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
			t.Fatalf("/dev/full is no longer a character device")
		}
	}
	dir := t.TempDir()
	// A named pipe: the reader gets the bytes, the pipe stays a pipe.
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan string)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(f)
		f.Close()
		got <- string(b)
	}()
	if err := WriteFileAtomic(fifo, writeString("through the pipe")); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "through the pipe" {
		t.Errorf("pipe reader got %q", s)
	}
	if fi, _ := os.Lstat(fifo); fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the pipe became %v", fi.Mode())
	}
	// A link to a regular file: the target gets the content, the link
	// stays; a dangling link (two levels) creates its target.
	target := filepath.Join(dir, "target.txt")
	os.WriteFile(target, []byte("old"), 0o644)
	link := filepath.Join(dir, "link")
	os.Symlink("target.txt", link)
	if err := WriteFileAtomic(link, writeString("new")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "new" {
		t.Errorf("target holds %q", b)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link became %v", fi.Mode())
	}
	os.Symlink(filepath.Join(dir, "link3"), filepath.Join(dir, "link2"))
	os.Symlink("sub/../later.txt", filepath.Join(dir, "link3"))
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	if err := WriteFileAtomic(filepath.Join(dir, "link2"), writeString("created")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "later.txt")); string(b) != "created" {
		t.Errorf("dangling link target holds %q", b)
	}
	if fi, _ := os.Lstat(filepath.Join(dir, "link2")); fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the dangling link became %v", fi.Mode())
	}
	// A loop of links, a directory and a socket are refused, untouched.
	os.Symlink("loopB", filepath.Join(dir, "loopA"))
	os.Symlink("loopA", filepath.Join(dir, "loopB"))
	if err := WriteFileAtomic(filepath.Join(dir, "loopA"), writeString("x")); err == nil {
		t.Error("a loop of links was written")
	}
	if err := WriteFileAtomic(filepath.Join(dir, "sub"), writeString("x")); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("directory: %v", err)
	}
	sock := filepath.Join(dir, "s")
	if l, err := net.Listen("unix", sock); err == nil {
		defer l.Close()
		if err := WriteFileAtomic(sock, writeString("x")); err == nil {
			t.Error("a socket was replaced")
		}
		if fi, _ := os.Lstat(sock); fi.Mode()&os.ModeSocket == 0 {
			t.Errorf("the socket became %v", fi.Mode())
		}
	}
}

// TestCheckNotInput: an output that is an input — by name, through a link
// or a hard link — is refused; other names pass.
func TestCheckNotInput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "J.txt")
	os.WriteFile(in, []byte("0 1 1\n"), 0o644)
	os.Symlink("J.txt", filepath.Join(dir, "alias"))
	os.Link(in, filepath.Join(dir, "hard"))
	for _, out := range []string{in, filepath.Join(dir, "alias"), filepath.Join(dir, "hard"), filepath.Join(dir, ".", "J.txt")} {
		if err := CheckNotInput(out, "", filepath.Join(dir, "missing"), in); err == nil || !strings.Contains(err.Error(), "same file as the input") {
			t.Errorf("%s: %v", out, err)
		}
	}
	os.WriteFile(filepath.Join(dir, "other"), nil, 0o644)
	for _, out := range []string{filepath.Join(dir, "new.npy"), filepath.Join(dir, "other"), "/dev/null"} {
		if err := CheckNotInput(out, in); err != nil {
			t.Errorf("%s: %v", out, err)
		}
	}
}

// TestLockDir (issue 16 item 2): a second lock on the same directory fails
// at once, saying who holds it; after Unlock it can be taken again.
func TestLockDir(t *testing.T) {
	dir := t.TempDir()
	l1, err := LockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockDir(dir)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "pid ") {
		t.Fatalf("second lock: %v", err)
	}
	if err := l1.Unlock(); err != nil {
		t.Fatal(err)
	}
	l2, err := LockDir(dir)
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	l2.Unlock()
	if err := (*DirLock)(nil).Unlock(); err != nil {
		t.Error(err)
	}
	if _, err := LockDir(filepath.Join(dir, "missing")); err == nil {
		t.Error("locked a missing directory")
	}
}

func TestRemoveStaleTemps(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{".stats.csv.tmp12345", ".checkpoint.json.tmp9", "user.tmp5", ".a.tmpx", ".tmp3", "keep.csv"} {
		os.WriteFile(filepath.Join(dir, name), nil, 0o644)
	}
	os.Mkdir(filepath.Join(dir, ".d.tmp1"), 0o755)
	removed, err := RemoveStaleTemps(dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(removed, ",") != ".checkpoint.json.tmp9,.stats.csv.tmp12345" {
		t.Errorf("removed %v", removed)
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 5 {
		t.Errorf("%d entries left", len(left))
	}
}
