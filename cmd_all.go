package main

import (
	"context"
	"errors"
)

// runAll is a stub until its issue lands.
func runAll(ctx context.Context, env *cmdEnv) error { return errors.New("not implemented yet") }
