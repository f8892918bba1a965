//go:build !amd64 && !arm64

package linux

// sysStatx is statx's number in the generic system call table (riscv64,
// loong64, ...).
const sysStatx = 291
