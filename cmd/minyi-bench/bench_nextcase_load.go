package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"minyi/core"
	"minyi/csvfile"
	"minyi/export"
	"minyi/sampler"
)

// backgroundReport is what ran beside the interviewers.
type backgroundReport struct {
	draws, cutShort  int
	exports          int
	exportRows       int
	drawTook         []time.Duration
	drawErr, exptErr error
}

func (r *backgroundReport) drawTimes() string {
	if len(r.drawTook) == 0 {
		return "no draw finished"
	}
	return "each draw taking " + seconds(r.drawTook)
}

// startBackground starts, beside the interviewers, what an admin and a
// supervisor do on the same evening: another wave drawn from the telephone
// frame, again and again, and the wave's dispositions and responses
// exported, one after the other, each as `minyi export` would (audited,
// then streamed). The returned function stops both, the work under way
// cancelled, and adds what ran to rep.
func startBackground(ctx context.Context, b *benchDB, wave string, round int) func(rep *backgroundReport) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var rep backgroundReport
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 1; ctx.Err() == nil; i++ {
			name := fmt.Sprintf("%s-draw-%d-%d", wave, round+1, i)
			w, err := sampler.CreateWave(ctx, b.db, sampler.WaveSpec{Name: name, Rate: 0.002})
			if err != nil {
				rep.drawErr = err
				return
			}
			// Older than the wave being called, which stays the newest drawn.
			if _, err := b.db.ExecContext(ctx, `UPDATE waves SET created_at = created_at - interval '1 day' WHERE id = $1`, w.ID); err != nil {
				rep.drawErr = err
				return
			}
			start := time.Now()
			_, err = sampler.Draw(ctx, b.db, name, int64(20260200+10*round+i))
			if ctx.Err() != nil {
				mu.Lock()
				rep.cutShort++
				mu.Unlock()
				return
			}
			if err == nil {
				err = core.AuditNow(ctx, b.db, core.AuditEntry{Actor: "minyi-bench", Action: "draw", Subject: name})
			}
			if err != nil {
				rep.drawErr = err
				return
			}
			mu.Lock()
			rep.draws++
			rep.drawTook = append(rep.drawTook, time.Since(start))
			mu.Unlock()
		}
	}()
	go func() {
		defer wg.Done()
		kinds := []string{"dispositions", "responses"}
		for i := 0; ctx.Err() == nil; i++ {
			r := export.Request{Kind: kinds[i%len(kinds)], Wave: wave, Encoding: csvfile.UTF8, Actor: "minyi-bench", Via: "command"}
			_, err := export.Begin(ctx, b.db, r)
			var rows int
			if err == nil {
				rows, err = export.Write(ctx, b.db, r, io.Discard)
			}
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				rep.exptErr = fmt.Errorf("export %s: %w", r.Kind, err)
				return
			}
			mu.Lock()
			rep.exports++
			rep.exportRows += rows
			mu.Unlock()
		}
	}()
	return func(into *backgroundReport) error {
		cancel()
		wg.Wait()
		into.draws += rep.draws
		into.cutShort += rep.cutShort
		into.exports += rep.exports
		into.exportRows += rep.exportRows
		into.drawTook = append(into.drawTook, rep.drawTook...)
		var errs []error
		for _, err := range []error{rep.drawErr, rep.exptErr} {
			if err != nil && !isCancel(err) {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
}

func isCancel(err error) bool {
	return errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "canceling statement due to user request")
}
