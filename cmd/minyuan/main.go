// Command minyuan runs the Minyuan bot (serve), its demo (demo), and the admin
// commands (invite, roles, tickets).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"
)

func main() {
	var cli CLI
	kctx := kong.Parse(&cli,
		kong.Name("minyuan"),
		kong.Description("Minyuan (民愿): the residents' reception room in WeChat."),
		kong.UsageOnError(),
	)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := kctx.Run(&Globals{Ctx: ctx, ConfigPath: cli.Config, Out: os.Stdout}); err != nil {
		fmt.Fprintln(os.Stderr, "minyuan:", err)
		os.Exit(1)
	}
}
