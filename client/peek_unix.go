//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package client

import (
	"net"
	"syscall"
)

// stillOpen reports whether an idle connection is open with nothing to
// read: the server has not closed it (which a read of 0 bytes shows) nor
// sent anything unasked. It peeks without blocking.
func stillOpen(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	open := false
	var buf [1]byte
	err = raw.Read(func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		open = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
		return true // never wait
	})
	return err == nil && open
}
