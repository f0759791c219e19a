package main

import (
	"context"
	"errors"
)

// runSeeder is a stub until its issue lands.
func runSeeder(ctx context.Context, env *cmdEnv) error { return errors.New("not implemented yet") }
