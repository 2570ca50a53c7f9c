package web

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"

	"minyi/dialer"
	"minyi/sampler"
	"minyi/signing"
	"minyi/sql/pgtest"
	"minyi/survey"
	"minyi/users"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testPassword is every test user's password.
const testPassword = "correct horse battery"

// fixture is a database with districts, the default questionnaire, a small
// telephone frame, a drawn wave and one user per role.
type fixture struct {
	db    *sqlx.DB
	srv   *httptest.Server
	s     *Server
	wave  string
	users map[users.Role]int64
	key   *signing.Key // signs the server's downloads
}

// fixtureDistricts is the districts file fixtures load: the 40 districts
// of 2010, which the tests' figures were worked out on.
var fixtureDistricts = "../cmd/minyi/data/chongqing-2010-districts.csv"

// newFixture builds a fixture in a fresh database. rate sets the wave's
// sampling rate on the 40 districts of Chongqing.
func newFixture(t *testing.T, rate float64) *fixture {
	t.Helper()
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f, err := os.Open(fixtureDistricts)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := sampler.ParseDistricts(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sampler.SaveDistricts(ctx, db, ds); err != nil {
		t.Fatal(err)
	}
	qid, err := survey.SaveQuestionnaire(ctx, db, survey.Default())
	if err != nil {
		t.Fatal(err)
	}
	fx := &fixture{db: db, wave: "w-test", users: map[users.Role]int64{}}
	if rate > 0 {
		phones, err := sampler.SyntheticPhones(7, len(ds)*30)
		if err != nil {
			t.Fatal(err)
		}
		var es []sampler.PhoneEntry
		for i, p := range phones {
			es = append(es, sampler.PhoneEntry{Phone: p, District: ds[i%len(ds)].Code})
		}
		if _, err := sampler.AddPhones(ctx, db, es); err != nil {
			t.Fatal(err)
		}
		w, err := sampler.CreateWave(ctx, db, sampler.WaveSpec{Name: fx.wave, Rate: rate, MinPerDistrict: 2, ExpectedRate: 0.5, QuestionnaireID: qid})
		if err != nil {
			t.Fatal(err)
		}
		// Tests run at any hour: the fixture's wave calls around the clock
		// (the calling-hours tests set hours of their own).
		if err := dialer.SetRules(ctx, db, w.ID, dialer.AllDay()); err != nil {
			t.Fatal(err)
		}
		if _, err := sampler.Draw(ctx, db, fx.wave, 42); err != nil {
			t.Fatal(err)
		}
		// The default group calls the fixture's wave, as a supervisor
		// would have set it.
		if err := dialer.SetTeamWave(ctx, db, 0, "test", "", fx.wave); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range users.Roles {
		if _, err := users.Add(ctx, db, string(r), "", testPassword, r); err != nil {
			t.Fatal(err)
		}
		var id int64
		if err := db.Get(&id, `SELECT id FROM users WHERE username = $1`, string(r)); err != nil {
			t.Fatal(err)
		}
		fx.users[r] = id
	}
	if _, err := users.Add(ctx, db, "interviewer2", "", testPassword, users.RoleInterview); err != nil {
		t.Fatal(err)
	}
	// The server connects as minyi serve does, as the application's role;
	// the tests look and tamper as the database's superuser (fx.db).
	appDB, err := sqlx.Open("postgres", pgtest.AppDSN(t, dsn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { appDB.Close() })
	key, _, err := signing.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fx.key = key
	fx.s, err = New(appDB, Options{Signer: key})
	if err != nil {
		t.Fatal(err)
	}
	fx.srv = httptest.NewServer(fx.s.Handler())
	t.Cleanup(fx.srv.Close)
	return fx
}

// client is a browser-like HTTP client signed in as one user.
type client struct {
	t    *testing.T
	fx   *fixture
	http *http.Client
	csrf string
}

// signIn signs in through the real sign-in form.
func (fx *fixture) signIn(t *testing.T, username string) *client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &client{t: t, fx: fx, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	body := c.get("/login")
	token := formValue(body, "csrf")
	res := c.post("/login", url.Values{"csrf": {token}, "username": {username}, "password": {testPassword}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in as %s: status %d", username, res.StatusCode)
	}
	c.csrf = formValue(c.get("/"+homeOf(t, c)), "csrf")
	return c
}

func homeOf(t *testing.T, c *client) string {
	res := c.do("GET", "/", nil)
	return strings.TrimPrefix(res.Header.Get("Location"), "/")
}

func (c *client) do(method, path string, form url.Values) *http.Response {
	c.t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(method, c.fx.srv.URL+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	return res
}

func (c *client) get(path string) string {
	return readAll(c.do("GET", path, nil))
}

func (c *client) post(path string, form url.Values) *http.Response {
	if form.Get("csrf") == "" && c.csrf != "" {
		form.Set("csrf", c.csrf)
	}
	return c.do("POST", path, form)
}

// valueRe caches formValue's patterns; tests sign in from several
// goroutines at once.
var valueRe sync.Map // name → *regexp.Regexp

// formValue finds the value of a named input in a page.
func formValue(page, name string) string {
	v, ok := valueRe.Load(name)
	if !ok {
		v, _ = valueRe.LoadOrStore(name, regexp.MustCompile(`name="`+regexp.QuoteMeta(name)+`" value="([^"]*)"`))
	}
	re := v.(*regexp.Regexp)
	m := re.FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return m[1]
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// addDemoFrame loads a telephone frame big enough for a 2‰ draw of the
// whole city: three numbers for every interview wanted.
func addDemoFrame(t *testing.T, fx *fixture) {
	t.Helper()
	ds, err := sampler.ListDistricts(context.Background(), fx.db)
	if err != nil {
		t.Fatal(err)
	}
	strata := make([]sampler.Stratum, len(ds))
	for i, d := range ds {
		strata[i] = sampler.Stratum{Code: d.Code, Population: d.Population}
	}
	alloc, err := sampler.Allocate(strata, 0.002, 2)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, a := range alloc {
		total += 3 * a.Target
	}
	phones, err := sampler.SyntheticPhones(11, total)
	if err != nil {
		t.Fatal(err)
	}
	var es []sampler.PhoneEntry
	i := 0
	for _, a := range alloc {
		for k := 0; k < 3*a.Target; k++ {
			es = append(es, sampler.PhoneEntry{Phone: phones[i], District: a.Code})
			i++
		}
	}
	if _, err := sampler.AddPhones(context.Background(), fx.db, es); err != nil {
		t.Fatal(err)
	}
}
