package main

import (
	"fmt"
	"io"
)

// runLoadtest is a stub until the performance issue lands.
func runLoadtest(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "loadtest: not implemented yet")
	return 2
}
