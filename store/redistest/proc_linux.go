package redistest

import "syscall"

// sysProcAttr has the kernel kill redis-server if the test binary dies without
// Close (a panic, go test's timeout), so no stray servers pile up.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
