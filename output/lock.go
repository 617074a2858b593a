package output

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// LockFile is the name of the lock file in a run directory.
const LockFile = ".lock"

// ErrLocked is returned (wrapped, with who holds the lock) by LockDir when
// another process holds the directory's lock.
var ErrLocked = errors.New("run directory is in use")

// DirLock is an exclusive lock on a run directory, held from LockDir until
// Unlock or the end of the process (the operating system releases it when
// the process dies, however it dies, so a killed run never leaves a stale
// lock behind).
type DirLock struct {
	f *os.File
}

// LockDir takes the exclusive lock of run directory dir (which must exist)
// without waiting. If another process holds it, the error wraps ErrLocked
// and says who: the process id, host, command and start time the holder
// wrote into dir/.lock. The lock is advisory (flock(2) on Unix, LockFileEx
// on Windows): it keeps two h2arnn runs apart, not other programs; on
// network file systems without lock support it may not hold.
func LockDir(dir string) (*DirLock, error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	ok, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if !ok {
		holder, _ := os.ReadFile(path)
		f.Close()
		who := strings.TrimSpace(string(holder))
		if who == "" {
			who = "another process"
		}
		return nil, fmt.Errorf("%w: %s is held by %s", ErrLocked, dir, who)
	}
	host, _ := os.Hostname()
	who := fmt.Sprintf("pid %d on %s (%s), since %s", os.Getpid(), host, strings.Join(os.Args, " "), time.Now().UTC().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(who+"\n"), 0) // informative only: a failure does not matter
	}
	return &DirLock{f: f}, nil
}

// Unlock releases the lock. The lock file stays (removing it would let a
// third process lock a new file while a second one waits on the old).
func (l *DirLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	l.f.Truncate(0)
	err := unlock(l.f)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}

// RemoveStaleTemps removes from dir the temporary files that
// WriteFileAtomic leaves when its process is killed between creating and
// renaming one (".NAME.tmp" followed by digits). Call it only on a
// directory whose lock is held, so that no live writer's file goes. It
// returns the names removed.
func RemoveStaleTemps(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range ents {
		name := e.Name()
		if !isStaleTemp(e) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return removed, err
		}
		removed = append(removed, name)
	}
	return removed, nil
}

// isStaleTemp reports whether e is a temporary file of WriteFileAtomic
// (".NAME.tmp" followed by digits).
func isStaleTemp(e fs.DirEntry) bool {
	name := e.Name()
	k := strings.LastIndex(name, TempSuffix)
	if !strings.HasPrefix(name, ".") || k < 1 || !e.Type().IsRegular() {
		return false
	}
	_, err := strconv.ParseUint(name[k+len(TempSuffix):], 10, 64)
	return err == nil
}

// DirContents returns the names of the entries of dir that a run cares
// about: every entry but the lock file and the temporary files of
// WriteFileAtomic that a killed process left (see RemoveStaleTemps), sorted
// by name. A directory that does not exist has none (nil, nil).
// It is how a command tells an empty run directory from one that holds
// files it must not overwrite.
func DirContents(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if e.Name() == LockFile || isStaleTemp(e) {
			continue
		}
		names = append(names, e.Name())
	}
	return names, nil
}
