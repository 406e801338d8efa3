package main

import "syscall"

// childAttr makes the kernel send hub serve SIGTERM if hubload dies
// first, so an interrupted run leaves no host behind.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
