package web

import (
	"fmt"
	"math"
	"strings"

	"minyi/dialer"
)

// The live view's charts are drawn here as SVG geometry that the template
// writes out: no chart library, no script, so they print, work without a
// network and scale to a phone's width through their viewBox.

// targetBars is completes per district against its target: one bar a
// district, with a mark at its target.
type targetBars struct {
	Rows          []targetBar
	Width, Height float64
	X0, PlotW     float64 // where bars start and the width of the axis
	Max           int     // the axis' end: the largest target or count
}

type targetBar struct {
	District, Name    string
	Completes, Target int
	Y, W, TargetX     float64 // bar top, bar width, the target mark's x
	TextY, ValueX     float64 // where its labels go
	Share             float64 // completes ÷ target (NaN without a target)
}

func targetChart(ds []dialer.LiveDistrict) targetBars {
	const rowH = 16.0
	c := targetBars{Width: 640, X0: 130, PlotW: 420, Height: 24 + rowH*float64(len(ds))}
	for _, d := range ds {
		c.Max = max(c.Max, d.Target, d.Completes)
	}
	axis := float64(max(c.Max, 1))
	for i, d := range ds {
		share := math.NaN()
		if d.Target > 0 {
			share = float64(d.Completes) / float64(d.Target)
		}
		c.Rows = append(c.Rows, targetBar{District: d.District, Name: d.Name, Completes: d.Completes, Target: d.Target,
			Y: 4 + rowH*float64(i), W: round1(float64(d.Completes) / axis * c.PlotW), TargetX: round1(c.X0 + float64(d.Target)/axis*c.PlotW), Share: share})
		b := &c.Rows[len(c.Rows)-1]
		b.TextY, b.ValueX = b.Y+10, round1(math.Max(c.X0+b.W, b.TargetX)+6)
	}
	return c
}

// rateLines are the contact and refusal rates hour by hour through the
// latest calling day.
type rateLines struct {
	Day                 string
	Hours               []hourPoint
	Contact, Refusal    string // polyline points
	Width, Height       float64
	X0, X1, Top, Bottom float64
	LabelY              float64 // the hours' labels
	Grid                []gridLine
}

type hourPoint struct {
	Hour                   int
	X                      float64
	Attempts, Contacts     int
	Refusals               int
	ContactRate            float64
	RefusalRate            float64
	ContactY, RefusalY     float64
	HasContact, HasRefusal bool
}

type gridLine struct {
	Y     float64
	Label string
}

func rateChart(hs []dialer.HourCount) rateLines {
	c := rateLines{Width: 640, Height: 220, X0: 44, X1: 610, Top: 10, Bottom: 180, LabelY: 196}
	if len(hs) == 0 {
		return c
	}
	c.Day = hs[0].Day
	first, last := hs[0].Hour, hs[len(hs)-1].Hour
	span := float64(max(last-first, 1))
	y := func(r float64) float64 { return round1(c.Bottom - r*(c.Bottom-c.Top)) }
	for _, p := range []float64{0, .25, .5, .75, 1} {
		c.Grid = append(c.Grid, gridLine{Y: y(p), Label: fmt.Sprintf("%.0f%%", 100*p)})
	}
	var contact, refusal []string
	for _, h := range hs {
		p := hourPoint{Hour: h.Hour, X: round1(c.X0 + float64(h.Hour-first)/span*(c.X1-c.X0)), Attempts: h.Attempts, Contacts: h.Contacts, Refusals: h.Refusals,
			ContactRate: h.ContactRate(), RefusalRate: h.RefusalRate()}
		if len(hs) == 1 {
			p.X = round1((c.X0 + c.X1) / 2)
		}
		if p.HasContact = !math.IsNaN(p.ContactRate); p.HasContact {
			p.ContactY = y(p.ContactRate)
			contact = append(contact, fmt.Sprintf("%.1f,%.1f", p.X, p.ContactY))
		}
		if p.HasRefusal = !math.IsNaN(p.RefusalRate); p.HasRefusal {
			p.RefusalY = y(p.RefusalRate)
			refusal = append(refusal, fmt.Sprintf("%.1f,%.1f", p.X, p.RefusalY))
		}
		c.Hours = append(c.Hours, p)
	}
	c.Contact, c.Refusal = strings.Join(contact, " "), strings.Join(refusal, " ")
	return c
}

// paceBars are each interviewer's completes per hour and mean interview
// length, two bars side by side.
type paceBars struct {
	Rows             []paceBar
	Width, Height    float64
	X0, X1, PlotW    float64 // the two panels' starts and their width
	MaxRate, MaxMins float64
}

type paceBar struct {
	Username        string
	PerHour, Mins   float64
	Y, RateW, MinsW float64
	TextY           float64
	RateX, MinsX    float64 // where the values are written
}

func paceChart(ps []dialer.InterviewerPace) paceBars {
	const rowH = 18.0
	c := paceBars{Width: 640, X0: 110, X1: 400, PlotW: 180, Height: 30 + rowH*float64(len(ps))}
	for _, p := range ps {
		c.MaxRate = math.Max(c.MaxRate, p.PerHour())
		c.MaxMins = math.Max(c.MaxMins, p.MeanSeconds/60)
	}
	scale := func(x, m float64) float64 {
		if m <= 0 {
			return 0
		}
		return round1(x / m * c.PlotW)
	}
	for i, p := range ps {
		b := paceBar{Username: p.Username, PerHour: p.PerHour(), Mins: p.MeanSeconds / 60, Y: 24 + rowH*float64(i)}
		b.RateW, b.MinsW = scale(b.PerHour, c.MaxRate), scale(b.Mins, c.MaxMins)
		b.TextY, b.RateX, b.MinsX = b.Y+11, c.X0+b.RateW+4, c.X1+b.MinsW+4
		c.Rows = append(c.Rows, b)
	}
	return c
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }
