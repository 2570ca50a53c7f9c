package web

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"minyi/dialer"
	"minyi/door"
	"minyi/sampler"
	"minyi/survey"
	"minyi/telephony"
	"minyi/telephony/peers"
	"minyi/users"
)

// walkNames are the fixture's people, signing in with pinyin user names
// as the polling centre's staff do: never an English word, so that an
// English word on a Chinese page is never theirs.
var walkNames = map[string]string{
	"admin":             "wangjun",
	"supervisor":        "lixia",
	"interviewer":       "zhangmin",
	"interviewer2":      "zhaoyun",
	"field_interviewer": "liuqiang",
	"office":            "chenjing",
}

// walkDisplayNames are their names as people write them.
var walkDisplayNames = map[string]string{
	"wangjun": "王军", "lixia": "李霞", "zhangmin": "张敏", "zhaoyun": "赵云", "liuqiang": "刘强", "chenjing": "陈静",
}

// walkFixture is a wave in the middle of its fieldwork: cases called with
// several outcomes, an appointment, interviews approved, flagged and sent
// back, a verification call, published scores, margins, a schedule, a
// finished job, a door-to-door wave with an assigned community, paper
// forms keyed differently by two operators, and telephony on.
type walkFixture struct {
	*fixture
	// urls: for each GET route of the table, the addresses that show it.
	urls map[string][]string
	// data: text that is the users' own (names of districts, people,
	// waves, streets; notes they typed): shown as entered in both languages.
	data []string
}

func walkUser(role users.Role) string { return walkNames[string(role)] }

func newWalkFixture(t *testing.T) *walkFixture {
	t.Helper()
	ctx := context.Background()
	fx := newFixture(t, 0.0005)
	// Telephony on, as in the polling centre; the trunk is a carrier that
	// answers nothing here.
	carrier := peers.StartCarrier(t)
	lo, hi := peers.RTPPorts()
	cfg := telephony.Config{Trunk: carrier.URI(), User: "minyi", Password: "trunk-secret-xyz", CallerID: "02312345678", Listen: fmt.Sprintf("127.0.0.1:%d", peers.FreePort(t)),
		RTPPorts: fmt.Sprintf("%d-%d", lo, hi), Channels: 4, RingTimeout: 10 * time.Second, Recordings: t.TempDir(), RateLimit: telephony.DefaultRateLimit}
	tctx, cancel := context.WithCancel(context.Background())
	svc, err := telephony.Start(tctx, fx.db, cfg, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); svc.Wait() })
	fx.s, err = New(fx.db, Options{Dialer: svc, Telephony: svc, Signer: fx.key})
	if err != nil {
		t.Fatal(err)
	}
	fx.srv.Config.Handler = fx.s.Handler()

	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := fx.db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for from, to := range walkNames {
		exec(`UPDATE users SET username = $2, display_name = $3 WHERE username = $1`, from, to, walkDisplayNames[to])
	}
	const wave = "2026年12月测评"
	exec(`UPDATE waves SET name = $1 WHERE name = $2`, wave, fx.wave)
	fx.wave = wave
	w := &walkFixture{fixture: fx, urls: map[string][]string{}}
	esc := url.PathEscape(wave)

	// The interviewer's evening: outcomes, an appointment, interviews.
	iv := fx.signIn(t, walkNames["interviewer"])
	for _, o := range []string{"no_answer", "busy", "refusal", "wrong_number", "soft_refusal"} {
		id := iv.nextCase()
		if res := iv.post("/cases/"+id+"/outcome", url.Values{"outcome": {o}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("outcome %s: %d %s", o, res.StatusCode, readAll(res))
		}
	}
	// A respondent who declines on hearing the consent script.
	declined := iv.nextCase()
	if res := iv.post("/cases/"+declined+"/participation", url.Values{"answer": {"no"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("consent declined: %d %s", res.StatusCode, readAll(res))
	}
	id := iv.nextCase()
	appt := time.Now().Add(26 * time.Hour).In(time.FixedZone("CST", 8*3600)).Format("2006-01-02T15:04")
	if res := iv.post("/cases/"+id+"/outcome", url.Values{"outcome": {"appointment"}, "appointment": {appt}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("appointment: %d %s", res.StatusCode, readAll(res))
	}
	fx.setRules(t, func(r *dialer.Rules) { r.VerifyShare = 1 })
	var ivs []int64
	for range 3 {
		ivs = append(ivs, completeOne(t, fx, iv, ""))
	}
	sup := fx.signIn(t, walkNames["supervisor"])
	// The first sent back with a note, the second flagged by its
	// respondent denying it on the verification call, the third approved.
	first := strconv.FormatInt(ivs[0], 10)
	if res := sup.post("/interviews/"+first+"/review", url.Values{"action": {"return"}, "version": {"1"}, "note": {"第1题请再核实"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("send back: %d %s", res.StatusCode, readAll(res))
	}
	if res := sup.post("/interviews/"+strconv.FormatInt(ivs[2], 10)+"/review", url.Values{"action": {"approve"}, "version": {"1"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d %s", res.StatusCode, readAll(res))
	}
	exec(`UPDATE verification_calls SET next_at = now() - interval '1 minute'`)
	var vids []int64
	if err := fx.db.Select(&vids, `SELECT id FROM verification_calls ORDER BY id`); err != nil || len(vids) < 2 {
		t.Fatalf("%d verification calls: %v", len(vids), err)
	}
	exec(`UPDATE verification_calls SET result = 'not_confirmed', note = '受访者说没接过电话' WHERE id = $1`, vids[1])
	iv2 := fx.signIn(t, walkNames["interviewer2"])
	// interviewer2's current task: a verification call.
	if loc := iv2.post("/calls/next", url.Values{}).Header.Get("Location"); !strings.HasPrefix(loc, "/verifications/") {
		t.Fatalf("interviewer2's next task: %s", loc)
	}
	fx.setRules(t, func(r *dialer.Rules) { r.VerifyShare = 0 })
	// The interviewer's case in hand.
	held := iv.nextCase()

	// A schedule, margins, a frame import (a job).
	adm := fx.signIn(t, walkNames["admin"])
	if res := adm.post("/schedules", url.Values{"name": {"monthly"}, "title": {"每月满意度抽样"}, "repeat": {"weekly"}, "day": {"1", "5"}, "time": {"02:00"},
		"rate": {"0.002"}, "expected": {"0.5"}, "modes": {"phone"}, "enabled": {"1"}}); res.StatusCode != http.StatusOK {
		t.Fatalf("schedule: %d %s", res.StatusCode, readAll(res))
	}
	if res, page := adm.upload("/margins", "district_code,variable,category,population\n500101,sex,1,779146\n500101,sex,2,783904\n500101,age_group,1,300000\n500101,age_group,2,400000\n"); res.StatusCode != http.StatusOK {
		t.Fatalf("margins: %d %s", res.StatusCode, page)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf", adm.csrf)
	mw.WriteField("kind", "phone")
	mw.WriteField("encoding", "auto")
	fw, _ := mw.CreateFormFile("file", "号码.csv")
	fw.Write([]byte("phone,district_code\n13908231234,500101\n+86 139 0823 1235,500102\n12345,500101\n13908231234,500103\n13908231236,\n"))
	mw.Close()
	req, _ := http.NewRequest("POST", fx.srv.URL+"/frames", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := adm.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	job := res.Header.Get("Location")
	adm.waitJob(res)
	var frameImport string
	fx.db.Get(&frameImport, `SELECT id::text FROM frame_imports ORDER BY id DESC LIMIT 1`)

	// Scores: the city's interviews, published.
	seedCity(t, fx)
	if _, err := survey.PublishScores(ctx, fx.db, wave, walkNames["office"]); err != nil {
		t.Fatal(err)
	}

	// A door-to-door wave with a community assigned and paper forms.
	for _, d := range []string{"500103", "500106"} {
		exec(`INSERT INTO household_frame (district_code, street, community, household_id, address, ordinal)
			SELECT $1, (ARRAY['解放碑街道', '七星岗街道', '大坪街道'])[s], (ARRAY['民生社区', '和平社区'])[c], $1 || '-' || s || '-' || c || '-' || h, '民生路 ' || s || ' 巷 ' || c || ' 栋 ' || h || ' 号', h
			FROM generate_series(1, 3) s, generate_series(1, 2) c, generate_series(1, 12) h`, d)
	}
	var qid int64
	fx.db.Get(&qid, `SELECT id FROM questionnaires ORDER BY id LIMIT 1`)
	const doorWave = "2026年入户测评"
	dw, err := sampler.CreateWave(ctx, fx.db, sampler.WaveSpec{Name: doorWave, Rate: 0.0001, MinPerDistrict: 2, ExpectedRate: 0.5, Modes: []string{"door"}, QuestionnaireID: qid})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sampler.Draw(ctx, fx.db, doorWave, 11); err != nil {
		t.Fatal(err)
	}
	cs, err := door.Communities(ctx, fx.db, dw.ID)
	if err != nil || len(cs) == 0 {
		t.Fatalf("%d communities: %v", len(cs), err)
	}
	fieldID := fx.users[users.RoleField]
	if res := sup.post("/waves/"+url.PathEscape(doorWave)+"/field", url.Values{"interviewer": {itoa(fieldID)}, "community": {communityValue(cs[0].CommunityKey)}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("assign: %d %s", res.StatusCode, readAll(res))
	}
	fi := fx.signIn(t, walkNames["field_interviewer"])
	sheet := fi.get("/field/sheet")
	ms := sheetRow.FindAllStringSubmatch(sheet, -1)
	if len(ms) < 2 {
		t.Fatalf("visit sheet:\n%s", sheet)
	}
	fieldCase := ms[0][1]
	if res := fi.post("/field/cases/"+fieldCase+"/visit", url.Values{"outcome": {dialer.OutcomeNoOneHome}}); res.StatusCode >= 400 {
		t.Fatalf("visit: %d %s", res.StatusCode, readAll(res))
	}
	a, b := completeAnswers("500103"), completeAnswers("500103")
	b.Set("q_q01", "1")
	if res := iv.post("/paper", keying(ms[1][2], a)); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("paper 1: %d %s", res.StatusCode, readAll(res))
	}
	if res := iv2.post("/paper", keying(ms[1][2], b)); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("paper 2: %d %s", res.StatusCode, readAll(res))
	}
	var paperForm string
	fx.db.Get(&paperForm, `SELECT id::text FROM paper_forms WHERE form_number = $1`, ms[1][2])

	u := w.urls
	u["/login"] = []string{"/login"}
	u["/"] = []string{"/"}
	u["/password"] = []string{"/password"}
	for _, p := range []string{"/districts", "/margins", "/frames", "/schedules", "/exports", "/waves", "/users", "/questionnaires", "/calls", "/phone", "/telephony", "/returned", "/paper", "/field", "/field/sheet", "/scores"} {
		u[p] = []string{p}
	}
	u["/frames/imports/:id"] = []string{"/frames/imports/" + frameImport}
	u["/jobs/:id"] = []string{job}
	u["/schedules/next"] = []string{"/schedules/next?repeat=weekly&day=1&day=3&day=7&time=06:30", "/schedules/next?repeat=cron&cron=0+2+*+*"}
	u["/waves/:wave"] = []string{"/waves/" + esc, "/waves/" + url.PathEscape(doorWave)}
	u["/waves/:wave/live"] = []string{"/waves/" + esc + "/live"}
	u["/waves/:wave/supervision"] = []string{"/waves/" + esc + "/supervision"}
	u["/waves/:wave/reviews"] = []string{"/waves/" + esc + "/reviews"}
	u["/interviews/:id"] = []string{"/interviews/" + first, "/interviews/" + strconv.FormatInt(ivs[1], 10)}
	u["/paper/:id"] = []string{"/paper/" + paperForm}
	u["/questionnaires/:id"] = []string{"/questionnaires/" + itoa(qid)}
	u["/questionnaires/:id/edit"] = []string{"/questionnaires/" + itoa(qid) + "/edit"}
	u["/cases/:id"] = []string{"/cases/" + held}
	u["/cases/:id/interview"] = []string{"/cases/" + held + "/interview"}
	u["/verifications/:id"] = []string{"/verifications/" + itoa(vids[0])}
	u["/waves/:wave/field"] = []string{"/waves/" + url.PathEscape(doorWave) + "/field"}
	u["/waves/:wave/field/sheet/:user"] = []string{"/waves/" + url.PathEscape(doorWave) + "/field/sheet/" + itoa(fieldID)}
	u["/field/cases/:id"] = []string{"/field/cases/" + fieldCase}
	u["/scores/:wave"] = []string{"/scores/" + esc}
	u["/waves/:wave/rates"] = []string{"/waves/" + esc + "/rates"}
	u["/waves/:wave/reviews"] = append(u["/waves/:wave/reviews"], "/waves/"+esc+"/reviews?list=reviewed", "/waves/"+esc+"/reviews?flag=not_confirmed&district=500101")
	u["/waves/:wave/reviews/approve"] = []string{"/waves/" + esc + "/reviews/approve"}
	u["/waves/:wave/appointments"] = []string{"/waves/" + esc + "/appointments", "/waves/" + esc + "/appointments?flag=missed"}
	u["/waves/:wave/supervision"] = append(u["/waves/:wave/supervision"], "/waves/"+esc+"/supervision?flag=not_confirmed")
	u["/jobs"] = []string{"/jobs", "/jobs?flag=failed"}
	u["/audit"] = []string{"/audit", "/audit?flag=interview-change"}
	u["/teams"] = []string{"/teams"}
	u["/callbacks"] = []string{"/callbacks"}
	u["/phone/browser"] = []string{"/phone/browser"}

	// The users' own text.
	var data []string
	for _, q := range []string{`SELECT name FROM districts`, `SELECT username FROM users`, `SELECT display_name FROM users WHERE display_name <> ''`, `SELECT name FROM waves`, `SELECT DISTINCT name FROM questionnaires`,
		`SELECT DISTINCT street FROM household_frame`, `SELECT DISTINCT community FROM household_frame`, `SELECT DISTINCT address FROM household_frame`,
		`SELECT form_number FROM paper_forms`} {
		var xs []string
		if err := fx.db.Select(&xs, q); err != nil {
			t.Fatal(err)
		}
		data = append(data, xs...)
	}
	data = append(data, "第1题请再核实", "受访者说没接过电话", "每月满意度抽样", "monthly", "号码.csv")
	// Longest first, so that a name inside another is not cut out of it.
	sort.Slice(data, func(i, j int) bool { return len(data[i]) > len(data[j]) })
	w.data = data
	return w
}

// walkSkip are the GET routes that are not pages, with the reason.
var walkSkip = map[string]string{
	"/static/:file":                       "style sheets and scripts",
	"/lang/:lang":                         "a redirect that sets the language",
	"/waves/:wave/live.json":              "data for the live page's script",
	"/questionnaires/:id/definition.json": "a download of the definition",
	"/cases/:id/call":                     "the call's state for the case page's script",
	"/phone/browser/state":                "the browser phone's state for its script",
	"/waves/:wave/calls.json":             "data for the live page's script",
	"/calls/:id/listen":                   "live audio",
	"/recordings/:id":                     "audio",
	"/scores/:wave/scores.csv":            "a download",
	"/waves/:wave/export/:kind":           "a download",
	"/waves/:wave/export":                 "a download",
	"/waves/:wave/signature/:kind":        "a download",
}

// Words that may stand in a Chinese page: names of standards, formats and
// products, and AAPOR's rate names.
var zhAllowed = map[string]bool{
	"AAPOR": true, "CSV": true, "SIP": true, "ID": true, "WAV": true, "URL": true, "UTF-8": true, "GB18030": true,
	"Minyi": true, "SHA-256": true, "PDF": true, "JSON": true, "Opus": true, "Ogg": true, "Chromium": true,
	"RR1": true, "RR2": true, "RR3": true, "RR4": true, "RR5": true, "RR6": true, "COOP1": true, "COOP2": true, "COOP3": true, "COOP4": true,
	"REF1": true, "REF2": true, "REF3": true, "CON1": true, "CON2": true, "CON3": true,
	// AAPOR's symbols in its formulas and the names of its families of rates.
	"I": true, "P": true, "R": true, "NC": true, "O": true, "UH": true, "UO": true, "NE": true, "e": true,
	"RR": true, "COOP": true, "REF": true, "CON": true,
	// Encodings and a name.
	"GBK": true, "Floyd": true, "RTP": true, "Excel": true, "ZIP": true, "STUN": true, "TURN": true, "WebRTC": true,
}

var (
	latinWord   = regexp.MustCompile(`[A-Za-z][A-Za-z0-9]*(?:-[0-9]+)?`)
	halfWidth   = regexp.MustCompile(`\p{Han}[,:;?!()]|[,:;?!()]\p{Han}|\p{Han} [,:;?!)]`)
	fullWidth   = regexp.MustCompile(`[，。：；？！（）、]`)
	han         = regexp.MustCompile(`\p{Han}+`)
	districtNum = regexp.MustCompile(`(?:^|[^0-9-])(5001\d\d|5002\d\d|5002\d\d)(?:$|[^0-9-])`)
	eNotation   = regexp.MustCompile(`\b\d+(?:\.\d+)?e[-+]?\d+\b`)
	// doubled: a message in both languages, "中文 / English".
	doubled = regexp.MustCompile(`\p{Han}[^\n]{0,3} / [A-Za-z]`)
)

// leaks lists what on a page is not in its language.
func leaks(lang, text string, data []string) []string {
	for _, d := range data {
		text = strings.ReplaceAll(text, d, "「」")
	}
	var out []string
	add := func(kind, s string) { out = append(out, kind+" "+strconv.Quote(s)) }
	if m := doubled.FindString(text); m != "" {
		add("two languages", m)
	}
	for _, m := range districtNum.FindAllStringSubmatch(text, -1) {
		add("district code", m[1])
	}
	for _, m := range eNotation.FindAllString(text, -1) {
		add("e-notation", m)
	}
	if lang == "zh" {
		seen := map[string]bool{}
		for _, m := range latinWord.FindAllString(text, -1) {
			if !zhAllowed[m] && !seen[m] {
				seen[m] = true
				add("English", m)
			}
		}
		for _, m := range halfWidth.FindAllString(text, -1) {
			add("half-width punctuation", m)
		}
		return out
	}
	for _, m := range han.FindAllString(text, -1) {
		add("Chinese", m)
	}
	for _, m := range fullWidth.FindAllString(text, -1) {
		add("full-width punctuation", m)
	}
	return out
}

// pageText is what a person reads on a page: its title, the text shown,
// the hints and names of controls, the options of lists, and charts.
// Literals a person types or copies as they are (CSV column names, keys,
// form numbers, file names, addresses of machines: marked as code or not
// to be translated) and the scores' tie bands (letters) come apart, as
// "codes": they are not words of either language, but may not be Chinese
// on an English page.
const pageText = `(() => {
	const body = document.body.cloneNode(true);
	// The language switch names the other language in that language.
	for (const e of body.querySelectorAll("[lang]")) e.remove();
	// What a click shows is read too.
	for (const e of body.querySelectorAll("details")) e.open = true;
	const codes = [];
	for (const e of body.querySelectorAll("code, kbd, samp, .form-number, [translate=no], td.bands, .band > strong")) {
		codes.push(e.textContent);
		for (const a of ["title", "placeholder"]) if (e.hasAttribute(a)) codes.push(e.getAttribute(a));
		e.replaceWith(" ");
	}
	document.documentElement.appendChild(body);
	const parts = [document.title, body.innerText];
	for (const e of body.querySelectorAll("[title],[placeholder],[alt],[aria-label]")) {
		for (const a of ["title", "placeholder", "alt", "aria-label"]) {
			if (e.hasAttribute(a)) parts.push(e.getAttribute(a));
		}
	}
	for (const o of body.querySelectorAll("option, svg text, svg title")) parts.push(o.textContent);
	for (const i of body.querySelectorAll("input[type=submit], input[type=button]")) parts.push(i.value);
	body.remove();
	return {text: parts.join("\n"), codes: codes.join("\n")};
})()`

// TestEveryPageInOneLanguage walks every page of the route table, as every
// role that may open it, in Chinese and in English, in Chromium: a page
// shows one language (the users' own names aside), Chinese with full-width
// punctuation, districts by name, numbers without e-notation.
func TestEveryPageInOneLanguage(t *testing.T) {
	w := newWalkFixture(t)
	shown := map[string]bool{}
	var missing []string
	for _, r := range w.s.Routes() {
		if r.Method != http.MethodGet {
			continue
		}
		if _, skip := walkSkip[r.Path]; skip {
			continue
		}
		if _, ok := w.urls[r.Path]; !ok {
			missing = append(missing, r.Path)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("pages neither walked nor skipped with a reason: %v", missing)
	}
	// Every page for every role in two languages: longer than most tests.
	ctx, _ := newBrowserFor(t, 10*time.Minute)
	base := w.srv.URL
	problems := map[string][]string{} // problem → who met it
	visit := func(lang, who, path string) {
		var shownText struct{ Text, Codes string }
		var status int
		mustRun(t, ctx,
			chromedp.Navigate(base+path),
			chromedp.Evaluate(`performance.getEntriesByType("navigation")[0].responseStatus`, &status),
			chromedp.Evaluate(pageText, &shownText),
		)
		if status == http.StatusOK {
			shown[path] = true
		}
		found := leaks(lang, shownText.Text, w.data)
		if lang == "en" {
			for _, d := range w.data {
				shownText.Codes = strings.ReplaceAll(shownText.Codes, d, " ")
			}
			for _, m := range han.FindAllString(shownText.Codes, -1) {
				found = append(found, "Chinese in a code "+strconv.Quote(m))
			}
		}
		for _, l := range found {
			k := fmt.Sprintf("%s %s (%d): %s", lang, path, status, l)
			if !slices.Contains(problems[k], who) {
				problems[k] = append(problems[k], who)
			}
		}
	}
	for _, lang := range []string{"zh", "en"} {
		mustRun(t, ctx, chromedp.Navigate(base+"/lang/"+lang))
		visit(lang, "-", "/login")
		// Every role, and the second interviewer, who holds the
		// verification call.
		type who struct {
			role users.Role
			user string
		}
		var people []who
		for _, role := range users.Roles {
			people = append(people, who{role, walkUser(role)})
		}
		people = append(people, who{users.RoleInterview, walkNames["interviewer2"]})
		for _, p := range people {
			mustRun(t, ctx, walkSignIn(base, p.user))
			for _, r := range w.s.Routes() {
				if r.Method != http.MethodGet || r.Roles == nil || !slices.Contains(r.Roles, p.role) {
					continue
				}
				for _, u := range w.urls[r.Path] {
					visit(lang, p.user, u)
				}
			}
			mustRun(t, ctx, signOut)
		}
	}
	for p, us := range w.urls {
		for _, u := range us {
			if !shown[u] {
				problems[fmt.Sprintf("%s (%s) was never shown", u, p)] = nil
			}
		}
	}
	if len(problems) > 0 {
		var lines []string
		for k, who := range problems {
			lines = append(lines, k+" "+strings.Join(who, ","))
		}
		sort.Strings(lines)
		t.Fatalf("%d problems:\n%s", len(lines), strings.Join(lines, "\n"))
	}
}

// walkSignIn signs in with a Chinese user name, set in the field as an
// input method would leave it.
func walkSignIn(base, user string) chromedp.Tasks {
	return chromedp.Tasks{
		chromedp.Navigate(base + "/login"),
		chromedp.WaitVisible("#username", chromedp.ByID),
		chromedp.SetValue("#username", user, chromedp.ByID),
		chromedp.SendKeys("#password", testPassword, chromedp.ByID),
		chromedp.Click("#login", chromedp.ByID),
		chromedp.WaitVisible("header .who", chromedp.ByQuery),
	}
}

// mainText is the text of a page's main part as a person reads it: tags
// and codes taken out, entities decoded.
func mainText(page string) (text, codes string) {
	if i := strings.Index(page, "<main>"); i >= 0 {
		page = page[i:]
	}
	var cs []string
	page = codeElem.ReplaceAllStringFunc(page, func(m string) string {
		cs = append(cs, tagRe.ReplaceAllString(m, ""))
		return " "
	})
	page = tagRe.ReplaceAllString(page, "\n")
	r := strings.NewReplacer("&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">", "&amp;", "&", "&quot;", `"`)
	return r.Replace(page), strings.Join(cs, "\n")
}

var (
	tagRe     = regexp.MustCompile(`<[^>]*>`)
	textareas = regexp.MustCompile(`(?s)<textarea\b[^>]*>.*?</textarea>`)
	// Codes as the walk reads them: code and kbd, and what is marked
	// translate="no" (the editor's question identifiers).
	codeElem = regexp.MustCompile(`(?s)<(code|kbd)\b[^>]*>.*?</(code|kbd)>|<option\b[^>]*\btranslate="no"[^>]*>.*?</option>`)
)

// TestErrorsInOneLanguage makes the mistakes people make — a schedule in
// bad cron syntax, a file with bad lines, a name the database refuses, a
// questionnaire that is not one — and reads each message in Chinese and
// in English: one language, the cron library's and PostgreSQL's words
// translated.
func TestErrorsInOneLanguage(t *testing.T) {
	fx := newFixture(t, 0.0005)
	// What the users typed, and their names, come back as they were.
	own := []string{fx.wave, "没有这一轮", "一组", "每月抽样", "万州区", "funday", "bad name!", "upload.csv", "default"}
	var names, districts []string
	fx.db.Select(&names, `SELECT username FROM users`)
	fx.db.Select(&districts, `SELECT name FROM districts`)
	names = append(names, districts...)
	own = append(own, names...)
	sort.Slice(own, func(i, j int) bool { return len(own[i]) > len(own[j]) })
	var baseID int64
	if err := fx.db.Get(&baseID, `SELECT questionnaire_id FROM waves WHERE name = $1`, fx.wave); err != nil {
		t.Fatal(err)
	}
	var def string
	fx.db.Get(&def, `SELECT definition FROM questionnaires WHERE id = $1`, baseID)
	base, err := survey.ParseQuestionnaire([]byte(def))
	if err != nil {
		t.Fatal(err)
	}
	editPath := "/questionnaires/" + strconv.FormatInt(baseID, 10) + "/edit"
	for _, lang := range []string{"zh", "en"} {
		c := fx.signIn(t, "admin")
		c.http.Jar.SetCookies(mustURL(fx.srv.URL), []*http.Cookie{{Name: "lang", Value: lang, Path: "/"}})
		iv := fx.signIn(t, "interviewer")
		iv.http.Jar.SetCookies(mustURL(fx.srv.URL), []*http.Cookie{{Name: "lang", Value: lang, Path: "/"}})
		held := iv.nextCase()
		type attempt struct {
			what string
			res  func() (*http.Response, string)
		}
		schedule := func(kv ...string) func() (*http.Response, string) {
			return func() (*http.Response, string) {
				f := url.Values{"name": {"monthly"}, "title": {"每月抽样"}, "repeat": {"cron"}, "rate": {"0.002"}, "expected": {"0.5"}, "modes": {"phone"}}
				for i := 0; i < len(kv); i += 2 {
					f.Set(kv[i], kv[i+1])
				}
				res := c.post("/schedules", f)
				return res, readAll(res)
			}
		}
		post := func(path string, f url.Values) func() (*http.Response, string) {
			return func() (*http.Response, string) { res := c.post(path, f); return res, readAll(res) }
		}
		upload := func(path, content string) func() (*http.Response, string) {
			return func() (*http.Response, string) { return c.upload(path, content) }
		}
		for _, a := range []attempt{
			{"cron with four fields", schedule("cron", "0 2 1 *")},
			{"cron out of range", schedule("cron", "61 2 * * *")},
			{"cron with a bad name", schedule("cron", "0 2 * * funday")},
			{"cron preview", func() (*http.Response, string) {
				res := c.do("GET", "/schedules/next?repeat=cron&cron=0+25+*+*+*", nil)
				return res, readAll(res)
			}},
			{"calling days", post("/waves/"+fx.wave+"/rules", url.Values{"hours": {"09:00-21:00"}, "days": {"funday"}, "grace": {"15"}, "max_attempts": {"8"}, "verify_share": {"0.1"}})},
			{"a wave whose name is taken", post("/waves", url.Values{"name": {fx.wave}, "rate": {"0.002"}, "expected": {"0.5"}, "modes": {"phone"}})},
			{"a user name the database refuses", post("/users", url.Values{"username": {"王"}, "display_name": {"王"}, "role": {"interviewer"}})},
			{"a user name taken", post("/users", url.Values{"username": {"supervisor"}, "role": {"interviewer"}})},
			{"margins with bad lines", upload("/margins", "district_code,variable,category,population\n500101,sex,1,779146\n500101,sex,3,1\n999999,age_group,2,5\n500101,urban,1,-4\n500101,sex,1,5\n")},
			{"districts with a bad line", upload("/districts", "code,name,resident_population\n500101,万州区,-1\n")},
			{"a file that is not CSV", upload("/districts", "PK\x03\x04\x00\x00binary")},
			{"a questionnaire that is not JSON", upload("/questionnaires", `{"name": "x", "questions": [}`)},
			{"a questionnaire with problems", upload("/questionnaires", `{"name": "bad name!", "title": {"zh": "问卷"}, "questions": []}`)},
			{"a group's wave that does not exist", post("/teams/wave", url.Values{"team": {"一组"}, "wave": {"没有这一轮"}})},
			{"a group name too long", post("/teams/wave", url.Values{"team": {strings.Repeat("组", 200)}, "wave": {fx.wave}})},
			{"a call-back search with too few digits", post("/callbacks", url.Values{"digits": {"12"}})},
			{"an English consent question without the Chinese", func() (*http.Response, string) {
				form := editorForm(editQuestions(base), "save")
				form.Set("consent_zh", "")
				form.Set("consent_en", "May I ask you a few questions?")
				res := c.post(editPath, form)
				// The editor gives back what was typed, in both languages.
				return res, textareas.ReplaceAllString(readAll(res), "")
			}},
			{"a consent answer that is neither", func() (*http.Response, string) {
				res := iv.post("/cases/"+held+"/participation", url.Values{"answer": {"maybe"}})
				return res, readAll(res)
			}},
			{"a bulk approval of a set that changed", post("/waves/"+fx.wave+"/reviews/approve", url.Values{"ids": {"999999"}, "count": {"1"}})},
		} {
			res, page := a.res()
			if res.StatusCode < 400 && a.what != "cron preview" {
				t.Errorf("%s %s: status %d, want an error", lang, a.what, res.StatusCode)
			}
			text, codes := mainText(page)
			found := leaks(lang, text, own)
			if lang == "en" {
				for _, m := range han.FindAllString(codes, -1) {
					found = append(found, "Chinese in a code "+strconv.Quote(m))
				}
			}
			if len(found) > 0 {
				t.Errorf("%s, %s (%d):\n%s\n%s", lang, a.what, res.StatusCode, strings.Join(found, "\n"), text)
			}
		}
	}
}
