package pg

// The external tests restore and dump databases with PostgreSQL's own
// programs, found as the launcher finds them.
var (
	PGTool   = pgTool
	LibpqDSN = libpqDSN
)
