package sqltest

import "context"

var bg = context.Background()
