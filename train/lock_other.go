//go:build !unix && !windows

package train

import (
	"errors"
	"os"
)

// tryLockFile: this system has no file locks; LockDir does not exclude a
// second writer.
func tryLockFile(f *os.File) (busy bool, err error) { return false, nil }

// waitLockFile: no file locks; the caller treats the error as "no lock".
func waitLockFile(f *os.File, exclusive bool) error {
	return errors.New("no file locks on this system")
}
