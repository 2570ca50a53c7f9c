package core

import "time"

// ListFilter narrows one of the long lists people page through (interviews
// to review, sent back, appointments, verification calls, jobs, the audit
// log) and says which rows of it to show. Each list reads the fields that
// apply to it; a zero field filters nothing.
type ListFilter struct {
	District string // district code
	UserID   int64  // the interviewer; for jobs and the audit log, who acted
	Flag     string // one of the list's own flags
	// From and To are Beijing calendar days, both included.
	From, To time.Time
	// UpTo bounds the ids listed, to a snapshot taken when the list was
	// shown: what was added since is left out.
	UpTo          int64
	Limit, Offset int
}

// FromArg is the first instant of From, or NULL, as a query parameter.
func (f ListFilter) FromArg() any {
	if f.From.IsZero() {
		return nil
	}
	return dayStart(f.From)
}

// ToArg is the first instant after To, or NULL, as a query parameter.
func (f ListFilter) ToArg() any {
	if f.To.IsZero() {
		return nil
	}
	return dayStart(f.To).AddDate(0, 0, 1)
}

// LimitArg is the page size as a query parameter: NULL, all rows, when
// Limit is 0.
func (f ListFilter) LimitArg() any {
	if f.Limit <= 0 {
		return nil
	}
	return f.Limit
}

func dayStart(t time.Time) time.Time {
	y, m, d := t.In(Shanghai).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, Shanghai)
}
