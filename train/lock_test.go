package train

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestLockHelperProcess is not a test: run with MHC_LOCK_HELPER=DIR (by
// TestStaleLock), it takes the lock of DIR, prints "locked" and waits to be
// killed.
func TestLockHelperProcess(t *testing.T) {
	dir := os.Getenv("MHC_LOCK_HELPER")
	if dir == "" {
		t.Skip("helper process of TestStaleLock")
	}
	if _, err := LockDir(dir); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	time.Sleep(time.Hour) // until killed
}

// A lock held by another process refuses a second writer and names it; once
// that process is killed with SIGKILL, its lock is gone (the file stays,
// with the dead pid in it) and the directory can be locked again.
func TestStaleLock(t *testing.T) {
	dir := t.TempDir()
	helper := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$")
	helper.Env = append(os.Environ(), "MHC_LOCK_HELPER="+dir)
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	defer helper.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("helper: %q, %v", line, err)
	}
	_, err = LockDir(dir)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("process %d", helper.Process.Pid)) {
		t.Fatalf("lock held by process %d: %v", helper.Process.Pid, err)
	}
	if err := helper.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	helper.Wait()
	l, err := LockDir(dir)
	if err != nil {
		t.Fatalf("after the holder was killed: %v", err)
	}
	l.Unlock()
}
