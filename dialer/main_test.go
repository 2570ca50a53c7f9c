package dialer

import (
	"testing"

	"minyi/sql/sqltest"
)

func TestMain(m *testing.M) { sqltest.Main(m) }
