package train

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LockFile is the file in a run directory on which the process training the
// run holds an exclusive flock(2) (see LockDir). It holds that process's id,
// for messages only.
const LockFile = ".lock"

// ErrLocked is wrapped by the error of LockDir (and so of Start and Resume)
// when another process holds the run directory's lock.
var ErrLocked = errors.New("run directory in use")

// DirLock is a held lock on a run directory: one writer per run.
type DirLock struct {
	f *os.File
}

// LockDir takes the exclusive lock of the existing run directory dir:
// flock(2) LOCK_EX|LOCK_NB on dir/.lock, created if missing (LockFileEx on
// Windows; no lock on systems with neither), then writes its process id
// into the file. If another process (or another DirLock in this process)
// holds the lock, it fails at once with an error wrapping ErrLocked that
// names the holder's pid. The kernel releases a flock when the holder
// exits, however it ends (kill -9 included), so a lock left by a dead
// process never blocks; the file itself stays. flock is advisory and may
// not work across machines on network file systems.
func LockDir(dir string) (*DirLock, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("train: run directory %s is not a directory", dir)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("train: lock %s: %w", path, err)
	}
	if busy, err := tryLockFile(f); busy || err != nil {
		b := make([]byte, 32)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		if busy {
			holder := "another process"
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b[:n]))); perr == nil && pid > 0 {
				holder = "process " + strconv.Itoa(pid)
			}
			return nil, fmt.Errorf("train: %s is being trained by %s (it holds %s): %w", dir, holder, LockFile, ErrLocked)
		}
		return nil, fmt.Errorf("train: lock %s: %w", path, err)
	}
	// The pid is informational: write errors do not matter.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &DirLock{f: f}, nil
}

// Unlock releases the lock. It is safe on a nil or released DirLock.
func (l *DirLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the last descriptor releases the flock
	l.f = nil
	return err
}

// lockDirShared and lockDirExclusive take a blocking lock (flock(2) where
// there is one) on the directory dir itself, which orders the moves of a
// checkpoint's files into place (exclusive, for the few renames of a
// commit) against readers that load the files (shared), so that a reader
// never sees files of two saves. Both are best effort: where the directory
// cannot be opened or locked they return a no-op release, and the checksums
// still refuse a mixed checkpoint.
func lockDirShared(dir string) func()    { return lockDirectory(dir, false) }
func lockDirExclusive(dir string) func() { return lockDirectory(dir, true) }

func lockDirectory(dir string, exclusive bool) func() {
	d, err := os.Open(dir)
	if err != nil {
		return func() {}
	}
	if err := waitLockFile(d, exclusive); err != nil {
		d.Close()
		return func() {}
	}
	return func() { d.Close() }
}

// acquireRun takes the run directory's lock (LockDir) and completes or
// discards a checkpoint save that an earlier process left unfinished (see
// SaveCheckpoint), so that the run continues from a complete checkpoint.
func acquireRun(dir string) (*DirLock, error) {
	l, err := LockDir(dir)
	if err != nil {
		return nil, err
	}
	if err := recoverCheckpoint(dir, os.Rename); err != nil {
		l.Unlock()
		return nil, err
	}
	return l, nil
}

// lockRun takes the lock of the run directory dir for Resume on rank 0 (see
// acquireRun); other ranks of a group do not write the directory and take
// no lock.
func lockRun(dir string, g Group) (*DirLock, error) {
	if g != nil && g.Rank() != 0 {
		return nil, nil
	}
	return acquireRun(dir)
}

// lockNewRun is lockRun for Start: it creates dir, and refuses it if it
// holds a run after all (one that another process started meanwhile, or whose
// first save is completed by the recovery).
func lockNewRun(dir string, g Group) (*DirLock, error) {
	if g != nil && g.Rank() != 0 {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	l, err := acquireRun(dir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, StateFile)); err == nil {
		l.Unlock()
		return nil, fmt.Errorf("train: %s %w", dir, ErrRunExists)
	}
	return l, nil
}

// keepLock hands lock to the run that Start or Resume returns, or releases
// it if they fail.
func keepLock(r *Run, err error, lock *DirLock) (*Run, error) {
	if err != nil {
		lock.Unlock()
		return nil, err
	}
	r.lock = lock
	return r, nil
}
