//go:build unix

package fileio

import "syscall"

// openFlags makes opening a FIFO return at once instead of waiting for a writer (the
// type check then refuses it). For regular files O_NONBLOCK changes nothing.
const openFlags = syscall.O_NONBLOCK
