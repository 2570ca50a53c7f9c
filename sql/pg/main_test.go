package pg_test

import (
	"testing"

	"minyi/sql/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
