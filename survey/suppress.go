package survey

import (
	"context"

	"github.com/jmoiron/sqlx"

	"minyi/csvfile"
)

// MinCell is the default smallest number of interviews behind an estimate
// that an export for people shows. Below it a breakdown could let someone
// who knows a few respondents work out what they answered, so its
// estimates are left out (docs/design.md §8).
const MinCell = 10

// SuppressedColumn is the flag column of exports with breakdowns: "1" when
// the row's estimates were left out because of too few interviews.
const SuppressedColumn = "suppressed"

// Suppressed reports whether a cell of n interviews is too small to show
// at threshold minCell. An empty cell (n = 0) has nothing to hide and is
// not flagged; a threshold of 1 or less suppresses nothing.
func Suppressed(n, minCell int) bool { return n > 0 && n < minCell }

func suppressedCell(hide bool) string {
	if hide {
		return "1"
	}
	return "0"
}

// ExportOptions are the choices of one export.
type ExportOptions struct {
	// MinCell is the suppression threshold of breakdowns (see Suppressed);
	// 0 means MinCell.
	MinCell int
}

// Threshold is the suppression threshold to apply.
func (o ExportOptions) Threshold() int {
	if o.MinCell <= 0 {
		return MinCell
	}
	return o.MinCell
}

// ExportFunc writes one kind of export of a wave to w and returns how many
// rows it wrote.
type ExportFunc = func(ctx context.Context, db *sqlx.DB, wave string, w *csvfile.Writer, opt ExportOptions) (int, error)
