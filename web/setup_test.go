package web

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"minyi/export"
	"minyi/users"
)

// upload posts a file as a browser form does.
func (c *client) upload(path, content string) (*http.Response, string) {
	c.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("csrf", c.csrf)
	fw, _ := w.CreateFormFile("file", "upload.csv")
	fw.Write([]byte(content))
	w.Close()
	req, _ := http.NewRequest("POST", c.fx.srv.URL+path, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	return res, readAll(res)
}

func TestMarginsAndDistrictsUpload(t *testing.T) {
	fx := newFixture(t, 0)
	c := fx.signIn(t, "admin")
	res, page := c.upload("/margins", "district_code,variable,category,population\n500101,sex,1,779146\n500101,sex,3,1\n999999,age_group,2,5\n500101,urban,1,-4\n500101,sex,1,5\n")
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad margins: %d", res.StatusCode)
	}
	for _, want := range []string{"第 3 行", "性别的类别", "第 4 行", "999999", "第 5 行", "非负整数", "第 6 行", "与第 2 行重复", "未导入任何行"} {
		if !strings.Contains(page, want) {
			t.Errorf("margins error page lacks %q", want)
		}
	}
	res, page = c.upload("/margins", "district_code,variable,category,population\n500101,sex,1,779146\n500101,sex,2,783904\n")
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "779,146") || !strings.Contains(page, "783,904") {
		t.Fatalf("margins upload: %d", res.StatusCode)
	}
	res, page = c.upload("/districts", "code,name,resident_population\n500101,万州区,1563051\n")
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "1,563,051") {
		t.Fatalf("districts upload: %d", res.StatusCode)
	}
	res, page = c.upload("/districts", "code,name,resident_population\n500101,万州区,-1\n")
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "第 2 行") {
		t.Fatalf("bad districts upload: %d", res.StatusCode)
	}
	// A supervisor sees the margins but cannot change them.
	sup := fx.signIn(t, "supervisor")
	if res, _ := sup.upload("/margins", "district_code,variable,category,population\n500101,sex,1,1\n"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("supervisor upload: %d", res.StatusCode)
	}
}

// TestSchedulesPage: an admin names a schedule in Chinese and builds it
// without cron syntax; the list shows the name and when it runs in words,
// the change is audited, and a bad advanced spec is refused in Chinese
// without the cron library's English.
func TestSchedulesPage(t *testing.T) {
	fx := newFixture(t, 0)
	c := fx.signIn(t, "admin")
	form := func(kv ...string) map[string][]string {
		f := map[string][]string{"name": {"monthly"}, "title": {"每月满意度抽样"}, "repeat": {"monthly"}, "monthday": {"1"}, "time": {"02:00"},
			"rate": {"0.002"}, "expected": {"0.5"}, "modes": {"phone"}, "enabled": {"1"}}
		for i := 0; i < len(kv); i += 2 {
			f[kv[i]] = []string{kv[i+1]}
		}
		return f
	}
	res := c.post("/schedules", form("repeat", "cron", "cron", "0 2 1 *"))
	page := readAll(res)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "应有 5 项，实际有 4 项") || strings.Contains(page, "expected exactly") {
		t.Fatalf("bad spec: %d\n%s", res.StatusCode, page)
	}
	res = c.post("/schedules", form())
	page = readAll(res)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "每月满意度抽样") || !strings.Contains(page, "每月 1 日 02:00") {
		t.Fatalf("save schedule: %d\n%s", res.StatusCode, page)
	}
	var spec, title string
	fx.db.QueryRow(`SELECT spec, title FROM wave_schedules WHERE name = 'monthly'`).Scan(&spec, &title)
	if spec != "0 2 1 * *" || title != "每月满意度抽样" {
		t.Fatalf("stored %q %q", spec, title)
	}
	res = c.post("/schedules", form("min_per_district", "-3"))
	if page = readAll(res); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "每区县最少完成访问数须为非负整数") {
		t.Fatalf("a negative minimum accepted: %d", res.StatusCode)
	}
	c.post("/schedules", form("min_per_district", "30", "title", "每月抽样(改)"))
	var minPer int
	fx.db.Get(&minPer, `SELECT min_per_district FROM wave_schedules WHERE name = 'monthly'`)
	if minPer != 30 {
		t.Fatalf("the schedule's minimum per district is %d, want 30", minPer)
	}
	var audited int
	fx.db.Get(&audited, `SELECT count(*) FROM audit_log WHERE action = 'wave-schedule' AND subject = 'monthly' AND details->>'title' = '每月抽样(改)'`)
	if audited != 1 {
		t.Fatalf("the renamed schedule was audited %d times", audited)
	}
	// The builder's preview speaks the page's language.
	zh := c.get("/schedules/next?repeat=weekly&day=1&day=3&time=06:30")
	if !strings.Contains(zh, "周一 06:30") || !strings.Contains(zh, "周三 06:30") || strings.Count(zh, "<li>") != 5 {
		t.Fatalf("the preview in Chinese:\n%s", zh)
	}
	c.get("/lang/en")
	en := c.get("/schedules/next?repeat=cron&cron=0+2+*+*")
	if !strings.Contains(en, "it needs 5 fields, not 4") || strings.ContainsFunc(en, func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff }) {
		t.Fatalf("the preview in English:\n%s", en)
	}
	if en := c.get("/schedules/next?repeat=weekly&day=1&time=06:30"); !strings.Contains(en, "Mon ") || !strings.Contains(en, " 06:30") {
		t.Fatalf("the preview in English:\n%s", en)
	}
}

// waitJob follows a job page until the job is done.
func (c *client) waitJob(res *http.Response) string {
	c.t.Helper()
	loc := res.Header.Get("Location")
	if !strings.HasPrefix(loc, "/jobs/") {
		c.t.Fatalf("no job: %d %s", res.StatusCode, loc)
	}
	// A draw takes seconds; on a loaded machine much longer.
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); {
		page := c.get(loc)
		if !strings.Contains(page, `http-equiv="refresh"`) {
			return page
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatal("job did not finish")
	return ""
}

func TestFrameUploadShowsItsReport(t *testing.T) {
	fx := newFixture(t, 0)
	c := fx.signIn(t, "admin")
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("csrf", c.csrf)
	w.WriteField("kind", "phone")
	w.WriteField("encoding", "auto")
	fw, _ := w.CreateFormFile("file", "numbers.csv")
	fw.Write([]byte("phone,district_code\n13908231234,500101\n+86 139 0823 1235,500102\n12345,500101\n13908231234,500103\n13908231236,\n"))
	w.Close()
	req, _ := http.NewRequest("POST", fx.srv.URL+"/frames", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	res, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	page := c.waitJob(res)
	if !strings.Contains(page, "完成") || !strings.Contains(page, "导入 3") {
		t.Fatalf("job page: %s", page)
	}
	frames := c.get("/frames")
	for _, want := range []string{"numbers.csv", "全市（无区县提示）", "<code>500101</code> 万州区"} {
		if !strings.Contains(frames, want) {
			t.Errorf("frames page lacks %q", want)
		}
	}
	var id string
	fx.db.Get(&id, `SELECT id::text FROM frame_imports ORDER BY id DESC LIMIT 1`)
	report := c.get("/frames/imports/" + id)
	if !strings.Contains(report, ">4<") || !strings.Contains(report, ">5<") {
		t.Errorf("the report does not list the bad lines 4 and 5:\n%s", report)
	}
}

func TestWaveFormSettingsAndReplicates(t *testing.T) {
	fx := newFixture(t, 0)
	addDemoFrame(t, fx)
	c := fx.signIn(t, "admin")
	res := c.post("/waves", map[string][]string{"name": {"w2"}, "rate": {"0.002"}, "expected": {"0.5"}, "modes": {"phone"},
		"replicate_size": {"abc"}})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad replicate size accepted: %d", res.StatusCode)
	}
	res = c.post("/waves", map[string][]string{"name": {"w2"}, "rate": {"0.002"}, "min_per_district": {"2.5"}, "expected": {"0.5"}, "modes": {"phone"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(readAll(res), "请填写非负整数") {
		t.Fatalf("a minimum of 2.5 interviews accepted: %d", res.StatusCode)
	}
	res = c.post("/waves", map[string][]string{"name": {"w2"}, "rate": {"0.002"}, "min_per_district": {"40"}, "expected": {"0.5"}, "modes": {"phone"},
		"replicate_size": {"50"}, "replicate_threshold": {"0.9"}, "district_rates": {"500103=0.4"}})
	if loc := res.Header.Get("Location"); loc != "/waves/w2?msg=wavecreated" {
		t.Fatalf("create: %d %s", res.StatusCode, loc)
	}
	var minPer int
	fx.db.Get(&minPer, `SELECT min_per_district FROM waves WHERE name = 'w2'`)
	if minPer != 40 {
		t.Fatalf("minimum per district stored as %d, want 40", minPer)
	}
	page := c.waitJob(c.post("/waves/w2/draw", map[string][]string{"seed": {"11"}}))
	if !strings.Contains(page, "完成") {
		t.Fatalf("draw job: %s", page)
	}
	var smallest int
	fx.db.Get(&smallest, `SELECT min(target) FROM allocations a JOIN waves w ON w.id = a.wave_id WHERE w.name = 'w2'`)
	if smallest < 40 {
		t.Fatalf("a district's target is %d, under the minimum of 40", smallest)
	}
	var released int
	fx.db.Get(&released, `SELECT released FROM allocations a JOIN waves w ON w.id = a.wave_id WHERE w.name = 'w2' AND district_code = '500103'`)
	var target int
	fx.db.Get(&target, `SELECT target FROM allocations a JOIN waves w ON w.id = a.wave_id WHERE w.name = 'w2' AND district_code = '500103'`)
	if released != (target*5+1)/2 {
		t.Fatalf("渝中区 released %d for %d completes at rate 0.4", released, target)
	}
	wave := c.get("/waves/w2")
	if !strings.Contains(wave, `id="replicates"`) || !strings.Contains(wave, "90.0%") {
		t.Fatalf("wave page lacks replicates or the threshold")
	}
	var closed int
	fx.db.Get(&closed, `SELECT count(*) FROM replicates r JOIN waves w ON w.id = r.wave_id WHERE w.name = 'w2' AND opened_at IS NULL AND district_code = '500103'`)
	res = c.post("/waves/w2/replicates", map[string][]string{"district": {"500103"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("open by hand: %d", res.StatusCode)
	}
	var after int
	fx.db.Get(&after, `SELECT count(*) FROM replicates r JOIN waves w ON w.id = r.wave_id WHERE w.name = 'w2' AND opened_at IS NULL AND district_code = '500103'`)
	if after != closed-1 {
		t.Fatalf("closed replicates %d → %d", closed, after)
	}
}

// TestHostileInput: payloads meant for SQL or the browser are stored as
// text and shown inert; bodies over the limit and text that is not UTF-8
// are refused with a message.
func TestHostileInput(t *testing.T) {
	fx := newFixture(t, 0)
	c := fx.signIn(t, "admin")
	evil := `<img src=x onerror=alert("x")>'; DROP TABLE waves;--`
	res := c.post("/waves", map[string][]string{"name": {evil}, "rate": {"0.002"}, "expected": {"0.5"}, "modes": {"phone"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create wave with a hostile name: %d", res.StatusCode)
	}
	var stored string
	if err := fx.db.Get(&stored, `SELECT name FROM waves`); err != nil || stored != evil {
		t.Fatalf("stored %q (%v)", stored, err)
	}
	page := c.get("/waves")
	if strings.Contains(page, "<img src=x") || !strings.Contains(page, "&lt;img src=x onerror=alert(&#34;x&#34;)&gt;") {
		t.Fatal("the hostile name is not shown escaped")
	}
	// The wave's own page, where the redirect leads, works for that name.
	loc := res.Header.Get("Location")
	if r := c.do("GET", strings.TrimSuffix(loc, "?msg=wavecreated"), nil); r.StatusCode != http.StatusOK {
		t.Fatalf("the hostile wave's page %s: %d", loc, r.StatusCode)
	}

	// A name that could not be part of the wave's address is refused.
	res = c.post("/waves", map[string][]string{"name": {"2026/12"}, "rate": {"0.002"}, "expected": {"0.5"}, "modes": {"phone"}})
	if body := readAll(res); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "轮次名称不能包含") {
		t.Fatalf("wave name with a slash: %d", res.StatusCode)
	}
	// More than 2 MB of form.
	big := strings.Repeat("x", 3<<20)
	res = c.post("/waves", map[string][]string{"name": {big}})
	if body := readAll(res); res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "提交的内容太大") {
		t.Fatalf("oversized body: %d", res.StatusCode)
	}
	// Text that is not UTF-8 (GBK bytes sent as if they were).
	res = c.post("/waves", map[string][]string{"name": {"\xcd\xf2\xd6\xdd"}, "rate": {"0.002"}})
	if body := readAll(res); res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "UTF-8") {
		t.Fatalf("invalid UTF-8: %d", res.StatusCode)
	}
	var n int
	fx.db.Get(&n, `SELECT count(*) FROM waves`)
	if n != 1 {
		t.Fatalf("%d waves after the refused requests", n)
	}
}

func TestRatesPage(t *testing.T) {
	fx := newFixture(t, 0.0005)
	c := fx.signIn(t, "interviewer")
	id := c.nextCase()
	c.post("/cases/"+id+"/outcome", map[string][]string{"outcome": {"refusal"}})
	office := fx.signIn(t, "office")
	page := office.get("/waves/" + fx.wave + "/rates")
	if !strings.Contains(page, `id="rates"`) || !strings.Contains(page, "REF1") || !strings.Contains(page, "全部") {
		t.Fatalf("rates page:\n%s", page)
	}
}

// TestDownloadsByRole: the office downloads the anonymised files; the
// dispositions, which carry case ids, are for admins. No download carries a
// telephone number.
func TestDownloadsByRole(t *testing.T) {
	fx := newFixture(t, 0.0005)
	c := fx.signIn(t, "interviewer")
	id := c.nextCase()
	page := c.get("/cases/" + id + "/interview")
	form := completeAnswers("500103")
	form.Set("key", formValue(page, "key"))
	c.post("/cases/"+id+"/interview", form)
	var phones []string
	fx.db.Select(&phones, `SELECT phone FROM cases WHERE phone IS NOT NULL`)
	office := fx.signIn(t, "office")
	for _, kind := range export.For(users.RoleOffice) {
		res := office.do("GET", "/waves/"+fx.wave+"/export/"+kind, nil)
		body := readAll(res)
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(body, "\ufeff") {
			t.Fatalf("%s: %d", kind, res.StatusCode)
		}
		for _, p := range phones {
			if strings.Contains(body, p) {
				t.Fatalf("%s carries a telephone number", kind)
			}
		}
	}
	if res := office.do("GET", "/waves/"+fx.wave+"/export/dispositions", nil); res.StatusCode != http.StatusForbidden {
		t.Fatalf("office dispositions: %d", res.StatusCode)
	}
	admin := fx.signIn(t, "admin")
	// In Chinese the columns are named in Chinese unless codes are asked for.
	res := admin.do("GET", "/waves/"+fx.wave+"/export/dispositions", nil)
	if body := readAll(res); res.StatusCode != http.StatusOK || !strings.HasPrefix(body, "\ufeff样本编号,区县代码,访问方式,拨打次数,最终结果代码\r\n") || !strings.Contains(body, ",1.1\r\n") {
		t.Fatalf("admin dispositions: %d\n%s", res.StatusCode, body)
	}
	res = admin.do("GET", "/waves/"+fx.wave+"/export/dispositions?header=codes", nil)
	if body := readAll(res); res.StatusCode != http.StatusOK || !strings.HasPrefix(body, "\ufeffcase_id,district_code,mode,attempts,final_code\r\n") {
		t.Fatalf("admin dispositions with codes: %d\n%s", res.StatusCode, body)
	}
	if res := admin.do("GET", "/waves/"+fx.wave+"/export/dispositions?header=english", nil); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("an unknown header choice: %d", res.StatusCode)
	}
	if res := admin.do("GET", "/waves/"+fx.wave+"/export/nonsense", nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown kind: %d", res.StatusCode)
	}
}
