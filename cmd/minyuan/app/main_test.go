package app_test

import (
	"testing"

	"minyuan/store/redistest"
)

// srv is the real Redis every test in this package runs against, each under its own
// key prefix.
var srv *redistest.Server

func TestMain(m *testing.M) { redistest.Main(m, &srv) }
