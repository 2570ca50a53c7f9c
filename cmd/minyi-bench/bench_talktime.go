package main

import (
	"fmt"
	"math/rand/v2"
	"time"
)

const benchTalkTimeName = "talk-time-share"

// Modelled times of a call, by what became of it: how long the line rang
// and how long the interviewer then talked (a refusal takes a little
// talking too). They are assumptions of the model, stated in the result.
var (
	ringFor = map[string]time.Duration{"no_answer": 30 * time.Second, "busy": 3 * time.Second, "wrong_number": 3 * time.Second}
	talkFor = map[string]time.Duration{"complete": 6 * time.Minute, "screened_out": time.Minute, "refusal": 30 * time.Second,
		"soft_refusal": 45 * time.Second, "appointment": 45 * time.Second, "not_eligible": time.Minute}
)

const (
	answeredRing = 10 * time.Second
	previewTime  = 10 * time.Second // reading the case and dialling by hand
	codingTime   = 5 * time.Second  // recording the outcome
)

// benchTalkTime is the simulated interviewers' share of their time spent
// talking to respondents, progressive dialing against preview, over the
// same cases: the simulator's mix of outcomes (a third interviews, the
// rest as pickOutcome draws them), with modelled times. In preview the
// interviewer reads each case, dials by hand, waits out the ringing and
// codes every outcome; in progressive Minyi dials the moment they are
// ready, and the network codes the calls nobody answers.
func benchTalkTime(cases int) BenchResult {
	rng := rand.New(rand.NewPCG(15, 9))
	var talk, preview, progressive time.Duration
	for range cases {
		o := pickOutcome(rng)
		switch r := rng.Float64(); {
		case r < 0.34:
			o = "complete"
		case r < 0.36:
			o = "screened_out"
		}
		ring, unanswered := ringFor[o]
		if !unanswered {
			ring = answeredRing
		}
		t := talkFor[o]
		talk += t
		preview += previewTime + ring + t + codingTime
		progressive += ring + t
		if !unanswered {
			progressive += codingTime
		}
	}
	res := BenchResult{Name: benchTalkTimeName, Unit: "share of time talking",
		Ours: talk.Seconds() / progressive.Seconds(), Baseline: talk.Seconds() / preview.Seconds(), Target: "> preview's"}
	res.Ratio = res.Ours / res.Baseline
	res.Pass = res.Ours > res.Baseline
	res.Note = fmt.Sprintf("ours: progressive dialing, baseline: preview, over the same %d simulated cases (the simulator's outcomes: %.0f%% interviews); modelled, not measured: ringing %s when answered, 30 s ring timeout, 3 s for busy and dead lines; talking 6 min an interview, 30 s to 1 min for refusals, appointments and screen-outs; preview adds %s to read and dial each case, and %s of coding after every call; progressive codes only the answered calls.",
		cases, 34.0, answeredRing, previewTime, codingTime)
	return res
}
