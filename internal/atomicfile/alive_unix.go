//go:build unix

package atomicfile

import "syscall"

// alive reports whether process pid exists (EPERM: it exists but belongs
// to another user).
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}
