//go:build screenshots

package web

import (
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// `make screenshots` runs this file's test (it has a build tag of its own,
// so that `make test` does not): the main pages of a wave in the middle of
// its fieldwork, in Chinese, at a laptop's 1366×768 and a phone's 375×667,
// saved as PNG for the README.
var screenshotDir = flag.String("screenshots", "../docs/screenshots", "where the screenshots are written")

// shotPage is one page to photograph, as a user of its role sees it.
type shotPage struct {
	name, user, path string
}

func TestScreenshots(t *testing.T) {
	// The demo's boundaries: the 38 districts and counties since 2016.
	fixtureDistricts = "../cmd/minyi/data/chongqing-2016-districts.csv"
	w := newWalkFixture(t)
	if err := os.MkdirAll(*screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	u := func(route string) string { return w.urls[route][0] }
	admin, sup, iv, field, office := walkNames["admin"], walkNames["supervisor"], walkNames["interviewer"], walkNames["field_interviewer"], walkNames["office"]
	pages := []shotPage{
		{"login", "", "/login"},
		{"waves", admin, "/waves"},
		{"wave", admin, u("/waves/:wave")},
		{"frames", admin, "/frames"},
		{"districts", admin, "/districts"},
		{"margins", admin, "/margins"},
		{"schedules", admin, "/schedules"},
		{"exports", admin, "/exports"},
		{"users", admin, "/users"},
		{"questionnaire-editor", admin, u("/questionnaires/:id/edit")},
		{"telephony", admin, "/telephony"},
		{"live", sup, u("/waves/:wave/live")},
		{"supervision", sup, u("/waves/:wave/supervision")},
		{"reviews", sup, u("/waves/:wave/reviews")},
		{"review", sup, w.urls["/interviews/:id"][1]},
		{"field-assignment", sup, u("/waves/:wave/field")},
		{"paper-decision", sup, u("/paper/:id")},
		{"calls", iv, "/calls"},
		{"case", iv, u("/cases/:id")},
		{"interview", iv, u("/cases/:id/interview")},
		{"sent-back", iv, "/returned"},
		{"field-list", field, "/field"},
		{"visit-sheet", field, "/field/sheet"},
		{"field-case", field, u("/field/cases/:id")},
		{"scores-index", office, "/scores"},
		{"scores", office, u("/scores/:wave")},
		{"rates", office, u("/waves/:wave/rates")},
		{"appointments", sup, u("/waves/:wave/appointments")},
		{"teams", sup, "/teams"},
		{"jobs", admin, "/jobs"},
		{"audit", office, "/audit"},
		{"callbacks", iv, "/callbacks"},
		{"browser-phone", iv, "/phone/browser"},
	}
	ctx, _ := newBrowser(t)
	base := w.srv.URL
	signedIn := ""
	for _, p := range pages {
		if p.user != signedIn {
			if signedIn != "" {
				mustRun(t, ctx, emulation.ClearDeviceMetricsOverride(), chromedp.Navigate(base+"/"), signOut)
			}
			if p.user != "" {
				mustRun(t, ctx, walkSignIn(base, p.user))
			}
			signedIn = p.user
		}
		for _, size := range []struct {
			suffix string
			w, h   int64
			mobile bool
		}{{"1366", 1366, 768, false}, {"375", 375, 667, true}} {
			var status int
			var png []byte
			mustRun(t, ctx,
				emulation.SetDeviceMetricsOverride(size.w, size.h, 1, size.mobile),
				chromedp.Navigate(base+p.path),
				chromedp.Evaluate(`performance.getEntriesByType("navigation")[0].responseStatus`, &status),
				chromedp.CaptureScreenshot(&png),
			)
			if status != http.StatusOK {
				t.Fatalf("%s (%s): status %d", p.name, p.path, status)
			}
			if err := os.WriteFile(filepath.Join(*screenshotDir, p.name+"-"+size.suffix+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
