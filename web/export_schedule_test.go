package web

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"minyi/core"
	"minyi/schedule"
)

// TestExportSchedulesPage: an admin adds a scheduled export on the page; a
// run that failed (the outbox is not a directory) shows as failed with its
// error and its next attempt, and a run that succeeded lists its files
// with their rows and hashes. Bad input is refused with the reason.
func TestExportSchedulesPage(t *testing.T) {
	fx := newFixture(t, 0.0005)
	admin := fx.signIn(t, "admin")
	page := admin.get("/exports")
	if !strings.Contains(page, `id="export-schedules"`) || !strings.Contains(page, "还没有定时导出") {
		t.Fatalf("empty page:\n%s", page)
	}
	form := url.Values{"name": {"office-weekly"}, "wave": {fx.wave}, "kind": {"scores", "indicators"}, "title": {"每周报考核办"},
		"repeat": {"weekly"}, "day": {"1"}, "time": {"06:00"},
		"encoding": {"gb18030"}, "min_cell": {"10"}, "enabled": {"1"}}
	res := admin.post("/exports", form)
	body := readAll(res)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "每周报考核办") || !strings.Contains(body, "每周一 06:00") || !strings.Contains(body, "scores indicators") {
		t.Fatalf("save: %d\n%s", res.StatusCode, body)
	}
	bad := url.Values{"name": {"x"}, "wave": {fx.wave}, "kind": {"scores"}, "title": {"坏"}, "repeat": {"cron"}, "cron": {"every monday"}, "encoding": {"utf-8"}, "min_cell": {"10"}}
	if res := admin.post("/exports", bad); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(readAll(res), "定时规则") {
		t.Fatalf("bad spec accepted: %d", res.StatusCode)
	}

	ctx := context.Background()
	ss, err := schedule.ListExportSchedules(ctx, fx.db)
	if err != nil || len(ss) != 1 {
		t.Fatalf("%v %+v", err, ss)
	}
	dir := t.TempDir()
	blocked := filepath.Join(dir, "blocked")
	os.WriteFile(blocked, nil, 0o600)
	failing := schedule.NewExportScheduler(fx.db, blocked, nil)
	if _, err := failing.Run(ctx, ss[0].ID, time.Date(2026, 11, 30, 6, 0, 0, 0, core.Shanghai)); err == nil {
		t.Fatal("run into a file succeeded")
	}
	working := schedule.NewExportScheduler(fx.db, filepath.Join(dir, "outbox"), nil)
	if _, err := working.Run(ctx, ss[0].ID, time.Date(2026, 12, 7, 6, 0, 0, 0, core.Shanghai)); err != nil {
		t.Fatal(err)
	}
	page = admin.get("/exports")
	if !strings.Contains(page, `class="run-failed"`) || !strings.Contains(page, "not a directory") || !strings.Contains(page, "下次重试") {
		t.Fatalf("failed run not shown:\n%s", page)
	}
	if !strings.Contains(page, `class="run-ok"`) || !strings.Contains(page, "indicators-"+fx.wave+"-gb18030.csv") || !strings.Contains(page, "SHA-256") {
		t.Fatalf("successful run not shown:\n%s", page)
	}
	if office := fx.signIn(t, "office"); office.do("GET", "/exports", nil).StatusCode != http.StatusForbidden {
		t.Fatal("the office sees the export schedules")
	}
}
