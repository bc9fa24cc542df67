// Command pause is the testbed's pod sandbox ("infra") container: it holds the
// pod's namespaces open, reaps zombie children when it is PID 1 of a shared
// PID namespace, and exits cleanly on SIGINT/SIGTERM. Built with
// CGO_ENABLED=0 so the image needs nothing but this static binary.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

var version = "3.10-pgck"

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "-v" || os.Args[1] == "--version") {
		fmt.Println("pause", version)
		return
	}
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "Warning: pause should be the first process")
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		switch s {
		case syscall.SIGCHLD:
			for {
				var ws syscall.WaitStatus
				pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
		default:
			fmt.Fprintf(os.Stderr, "Shutting down, got signal: %v\n", s)
			os.Exit(0)
		}
	}
}
