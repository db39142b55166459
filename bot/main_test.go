package bot_test

import (
	"testing"

	"minyuan/store/redistest"
)

var srv *redistest.Server

func TestMain(m *testing.M) { redistest.Main(m, &srv) }
