//go:build linux

package httpstack

import (
	"net"
	"syscall"
	"unsafe"
)

// pending reports whether bytes from the client wait unread on c (the
// socket's receive queue, FIONREAD): a connection the server has not read
// from yet whose client has already sent its request.
func pending(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var n int32
	var errno syscall.Errno
	raw.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
	})
	return errno == 0 && n > 0
}
