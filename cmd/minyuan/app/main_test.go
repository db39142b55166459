package app_test

import (
	"fmt"
	"os"
	"testing"

	"minyuan/store/redistest"
)

// srv is the real Redis every test in this package runs against, each under its own
// key prefix.
var srv *redistest.Server

func TestMain(m *testing.M) {
	var err error
	if srv, err = redistest.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	srv.Close()
	os.Exit(code)
}
