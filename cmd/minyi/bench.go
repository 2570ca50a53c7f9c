package main

import "context"

func cmdBench(ctx context.Context, e *env, args []string) error {
	return usageError{"bench: 尚未提供 / not available in this build"}
}
