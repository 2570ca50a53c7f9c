package pgtest

import "context"

var bg = context.Background()
