package main

import (
	"context"
	"errors"
)

// runTracker is a stub until its issue lands.
func runTracker(ctx context.Context, env *cmdEnv) error { return errors.New("not implemented yet") }
