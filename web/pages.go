package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"path"
	"strings"
	"time"

	"minyi/core"
	"minyi/users"

	"github.com/labstack/echo/v4"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/*
var staticFS embed.FS

type pages struct {
	set       map[string]*template.Template
	version   map[string]string // static file -> content hash, for cache busting
	districts *districtNames    // set by the server
}

// view is what every page template gets.
type view struct {
	Lang  string
	User  *users.User
	Title core.Text
	Msg   *core.Text // a notice at the top of the page
	Err   *core.Text // an error at the top of the page
	Data  any
	Path  string
	Now   time.Time
	// Refresh reloads the page after this many seconds (progress pages).
	Refresh int
}

func loadPages() (*pages, error) {
	p := &pages{set: map[string]*template.Template{}, version: map[string]string{}}
	files, _ := fs.Glob(staticFS, "static/*")
	for _, f := range files {
		b, _ := staticFS.ReadFile(f)
		sum := sha256.Sum256(b)
		p.version[path.Base(f)] = hex.EncodeToString(sum[:4])
	}
	funcs := template.FuncMap{
		"t": func(lang, zh, en string) string {
			if lang == "en" {
				return en
			}
			return zh
		},
		// colon follows a label: full width in Chinese, a colon and a space
		// in English.
		"colon": func(lang string) string {
			if lang == "en" {
				return ": "
			}
			return "："
		},
		"tx": func(lang string, t core.Text) string {
			if lang == "en" && t.EN != "" {
				return t.EN
			}
			return t.ZH
		},
		"static": func(name string) (string, error) {
			v, ok := p.version[name]
			if !ok {
				return "", fmt.Errorf("no static file %s", name)
			}
			return "/static/" + name + "?v=" + v, nil
		},
		"mode":      func(lang, m string) string { return word(modeNames, lang, m) },
		"algorithm": func(lang, a string) string { return word(algorithmNames, lang, a) },
		"source":    func(lang, s string) string { return word(sourceNames, lang, s) },
		"device":    func(lang, d string) string { return word(deviceNames, lang, d) },
		"section":   func(lang, s string) string { return word(sectionNames, lang, s) },
		"qtype":     func(lang, t string) string { return word(typeNames, lang, t) },
		"framekind": func(lang, k string) string { return word(frameKindNames, lang, k) },
		"weightvar": func(lang, v string) string { return word(weightVarNames, lang, v) },
		"onelang":   oneLanguage,
		"withkeys":  withKeys,
		// Punctuation around what a template fills in: full width in
		// Chinese.
		"lp":       func(lang string) string { return pick(lang, "（", " (") },
		"rp":       func(lang string) string { return pick(lang, "）", ")") },
		"sep":      func(lang string) string { return pick(lang, "，", ", ") },
		"stop":     func(lang string) string { return pick(lang, "。", ".") },
		"encoding": encodingName,
		// district names a district by its code.
		"district": func(code string) string {
			if p.districts == nil {
				return code
			}
			return p.districts.name(code)
		},
		"f1": func(x float64) string { return fmt.Sprintf("%.1f", x) },
		"f2": func(x float64) string { return fmt.Sprintf("%.2f", x) },
		"pct": func(x float64) string {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return "—"
			}
			return fmt.Sprintf("%.1f%%", 100*x)
		},
		"num": groupDigits,
		"role": func(lang string, r users.Role) string {
			l := users.RoleLabel(r)
			if lang == "en" {
				return l.EN
			}
			return l.ZH
		},
		"clock": func(t time.Time) string {
			return t.In(core.Shanghai).Format("2006-01-02 15:04")
		},
		"scale": func(x, lo, hi, width float64) float64 {
			if hi <= lo {
				return 0
			}
			return math.Max(0, math.Min(width, (x-lo)/(hi-lo)*width))
		},
		"sub": func(a, b float64) float64 { return a - b },
		// heat is the colour band of a 100-point score in the heat map.
		"heat": func(x float64) int {
			switch {
			case x >= 90:
				return 5
			case x >= 80:
				return 4
			case x >= 70:
				return 3
			case x >= 60:
				return 2
			case x >= 50:
				return 1
			}
			return 0
		},
		"until": func(n int) []int {
			out := make([]int, n)
			for i := range out {
				out[i] = i
			}
			return out
		},
		"deref": func(p *int64) int64 {
			if p == nil {
				return 0
			}
			return *p
		},
		"derefi": func(p *int) int {
			if p == nil {
				return 0
			}
			return *p
		},
		"derefs": func(p *string) string {
			if p == nil {
				return ""
			}
			return *p
		},
		"add":   func(a, b int) int { return a + b },
		"msToS": func(ms int64) float64 { return float64(ms) / 1000 },
		"hasRole": func(u *users.User, roles ...string) bool {
			if u == nil {
				return false
			}
			for _, r := range roles {
				if string(u.Role) == r {
					return true
				}
			}
			return false
		},
	}
	// Files named _*.html hold parts shared by several pages (the
	// questionnaire's questions); every page gets them with the layout.
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/_*.html")
	if err != nil {
		return nil, fmt.Errorf("web: layout template: %w", err)
	}
	names, _ := fs.Glob(templateFS, "templates/*.html")
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" || strings.HasPrefix(base, "_") {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", base, err)
		}
		p.set[strings.TrimSuffix(base, ".html")] = t
	}
	return p, nil
}

func groupDigits(v any) string {
	s := fmt.Sprint(v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func lang(c echo.Context) string {
	if ck, err := c.Cookie("lang"); err == nil && ck.Value == "en" {
		return "en"
	}
	return "zh"
}

// render writes a page; it renders into a buffer first so that a template
// error becomes a clean error page, not half a page.
func (s *Server) render(c echo.Context, status int, page string, title core.Text, data any) error {
	return s.renderView(c, status, page, &view{Title: title, Data: data})
}

func (s *Server) renderView(c echo.Context, status int, page string, v *view) error {
	t, ok := s.pages.set[page]
	if !ok {
		return fmt.Errorf("web: no page %s", page)
	}
	v.Lang, v.User, v.Path, v.Now = lang(c), currentUser(c), c.Request().URL.Path, s.opt.Now()
	if v.Msg == nil {
		v.Msg = notice(c.QueryParam("msg"))
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		return fmt.Errorf("web: render %s: %w", page, err)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

func (s *Server) errorPage(c echo.Context, status int, msg core.Text) error {
	return s.renderView(c, status, "error", &view{Title: core.Text{ZH: "出错了", EN: "Something went wrong"}, Err: &msg, Data: status})
}

// notices are the fixed messages a redirect can ask the next page to show.
var notices = map[string]core.Text{
	"saved":       {ZH: "访问已保存。", EN: "The interview is saved."},
	"recorded":    {ZH: "呼叫结果已记录。", EN: "The call outcome is recorded."},
	"screened":    {ZH: "受访者不符合条件，样本已结束。", EN: "The respondent is not eligible; the case is closed."},
	"nocase":      {ZH: "现在没有可拨打的样本，请稍后再试。", EN: "There is no case to call now; try again later."},
	"drawn":       {ZH: "抽样完成。", EN: "The sample is drawn."},
	"wavecreated": {ZH: "轮次已创建。", EN: "The wave is created."},
	"opened":      {ZH: "已开放新的样本批次（如有符合条件的）。", EN: "New replicates are open (where due)."},
	"rules":       {ZH: "拨打规则已保存。", EN: "The calling rules are saved."},
	"converter":   {ZH: "已更新拒访转化员。", EN: "The refusal converter mark is updated."},
	"deactivated": {ZH: "用户已停用，其登录已全部退出。", EN: "The user is deactivated and all their sessions have ended."},
	"activated":   {ZH: "用户已重新启用。", EN: "The user is active again."},
	"signedout":   {ZH: "该用户的登录已全部退出。", EN: "All sessions of the user have ended."},
	"password":    {ZH: "密码已修改，其他设备上的登录已退出。", EN: "Your password is changed; you are signed out on other devices."},
}

func notice(key string) *core.Text {
	if t, ok := notices[key]; ok {
		return &t
	}
	return nil
}

func (s *Server) static(c echo.Context) error {
	name := path.Base(c.Param("file"))
	b, err := staticFS.ReadFile("static/" + name)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	ct := "application/octet-stream"
	switch path.Ext(name) {
	case ".css":
		ct = "text/css; charset=utf-8"
	case ".js":
		ct = "text/javascript; charset=utf-8"
	case ".svg":
		ct = "image/svg+xml"
	}
	if c.QueryParam("v") == s.pages.version[name] {
		c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	return c.Blob(http.StatusOK, ct, b)
}

func (s *Server) setLang(c echo.Context) error {
	l := c.Param("lang")
	if l != "en" {
		l = "zh"
	}
	c.SetCookie(&http.Cookie{Name: "lang", Value: l, Path: "/", MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteLaxMode, HttpOnly: true, Secure: s.secureCookies(c)})
	back := c.Request().Referer()
	if u, err := parseLocal(back); err == nil {
		return c.Redirect(http.StatusSeeOther, u)
	}
	return c.Redirect(http.StatusSeeOther, "/")
}
