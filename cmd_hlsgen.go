package main

import (
	"context"
	"errors"
)

// runHLSGen is a stub until its issue lands.
func runHLSGen(ctx context.Context, env *cmdEnv) error { return errors.New("not implemented yet") }
