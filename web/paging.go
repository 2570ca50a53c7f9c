package web

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"minyi/core"
	"minyi/sampler"
	"minyi/users"
)

// pageSize is how many rows a list page shows.
const pageSize = 50

// option is one choice of a filter's select list: the value sent, the
// name a person reads.
type option struct {
	Value string
	Label core.Text
}

// listSpec says which filters a list has and what they offer; a nil list
// of options leaves that filter out.
type listSpec struct {
	Districts []option
	Users     []option
	UserLabel core.Text // who the user filter is: interviewer, made by, who acted
	Flags     []option
	FlagLabel core.Text
	Dates     bool
	DateLabel core.Text
	// Keep are query parameters the list's links carry besides the
	// filters (a tab).
	Keep url.Values
}

// listPage is a list's filters as asked for, and its paging once counted:
// what the filter form and the pager of every list page show.
type listPage struct {
	listSpec
	Lang   string
	Path   string
	Filter core.ListFilter
	// The filters as given, to show them again in the form.
	District, User, Flag, From, To string
	Total, Page, Pages             int
	Prev, Next                     string
}

// Filtered reports whether any filter narrows the list.
func (p *listPage) Filtered() bool {
	return p.District != "" || p.User != "" || p.Flag != "" || p.From != "" || p.To != ""
}

// Query is the list's filters as a query string, without its page.
func (p *listPage) Query() url.Values {
	q := url.Values{}
	for k, v := range p.Keep {
		q[k] = v
	}
	for k, v := range map[string]string{"district": p.District, "interviewer": p.User, "flag": p.Flag, "from": p.From, "to": p.To} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// FilterQuery is Query encoded, for links that keep the filters.
func (p *listPage) FilterQuery() string { return p.Query().Encode() }

func (p *listPage) pageURL(n int) string {
	q := p.Query()
	if n > 1 {
		q.Set("page", strconv.Itoa(n))
	}
	if len(q) == 0 {
		return p.Path
	}
	return p.Path + "?" + q.Encode()
}

// counted fills in the paging once the list's rows are counted.
func (p *listPage) counted(total int) {
	p.Total = total
	p.Pages = max(1, (total+pageSize-1)/pageSize)
	if p.Page > 1 {
		p.Prev = p.pageURL(min(p.Page-1, p.Pages))
	}
	if p.Page < p.Pages {
		p.Next = p.pageURL(p.Page + 1)
	}
}

// parseList reads a list page's filters and page from the query string and
// checks each against what the list offers: a value not offered is
// refused with a message saying which, never passed on to the database.
func parseList(c echo.Context, spec listSpec) (*listPage, error) {
	p := &listPage{listSpec: spec, Lang: lang(c), Path: c.Request().URL.Path, Page: 1}
	q := c.QueryParams()
	if v := strings.TrimSpace(q.Get("page")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1_000_000 {
			return nil, core.Errorf(core.EInvalid, "页码须为正整数：%q", "the page must be a positive whole number: %q", v)
		}
		p.Page = n
	}
	p.District = strings.TrimSpace(q.Get("district"))
	if p.District != "" {
		if !offered(spec.Districts, p.District) {
			return nil, core.Errorf(core.EInvalid, "没有这个区县：%q", "no such district: %q", p.District)
		}
		p.Filter.District = p.District
	}
	p.User = strings.TrimSpace(q.Get("interviewer"))
	if p.User != "" {
		id, err := strconv.ParseInt(p.User, 10, 64)
		if err != nil || !offered(spec.Users, p.User) {
			return nil, core.Errorf(core.EInvalid, "没有这个%s：%q", "no such %s: %q", spec.UserLabel.ZH, p.User)
		}
		p.Filter.UserID = id
	}
	p.Flag = strings.TrimSpace(q.Get("flag"))
	if p.Flag != "" {
		if !offered(spec.Flags, p.Flag) {
			return nil, core.Errorf(core.EInvalid, "没有这个筛选项：%q", "no such filter: %q", p.Flag)
		}
		p.Filter.Flag = p.Flag
	}
	if spec.Dates {
		var err error
		p.From = strings.TrimSpace(q.Get("from"))
		if p.Filter.From, err = listDate(p.From, "起始日期", "the start date"); err != nil {
			return nil, err
		}
		p.To = strings.TrimSpace(q.Get("to"))
		if p.Filter.To, err = listDate(p.To, "截止日期", "the end date"); err != nil {
			return nil, err
		}
		if !p.Filter.From.IsZero() && !p.Filter.To.IsZero() && p.Filter.To.Before(p.Filter.From) {
			return nil, core.Errorf(core.EInvalid, "截止日期 %s 早于起始日期 %s", "the end date %s is before the start date %s", p.To, p.From)
		}
	}
	p.Filter.Limit, p.Filter.Offset = pageSize, (p.Page-1)*pageSize
	return p, nil
}

func listDate(v, zh, en string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation("2006-01-02", v, core.Shanghai)
	if err != nil {
		return time.Time{}, core.Errorf(core.EInvalid, zh+"须为“年-月-日”，如 2026-12-04：%q", en+" must be a date such as 2026-12-04: %q", v)
	}
	return t, nil
}

func offered(opts []option, v string) bool {
	for _, o := range opts {
		if o.Value == v {
			return true
		}
	}
	return false
}

// districtOptions offers the districts by name.
func (s *Server) districtOptions(ctx context.Context) ([]option, error) {
	ds, err := sampler.ListDistricts(ctx, s.db)
	if err != nil {
		return nil, err
	}
	out := make([]option, 0, len(ds))
	for _, d := range ds {
		out = append(out, option{Value: d.Code, Label: core.Text{ZH: d.Name, EN: d.Name}})
	}
	return out, nil
}

// userOptions offers the accounts of the roles given (all roles if none),
// each by its display name with its username.
func (s *Server) userOptions(ctx context.Context, roles ...users.Role) ([]option, error) {
	us, err := users.List(ctx, s.db)
	if err != nil {
		return nil, err
	}
	var out []option
	for _, u := range us {
		if len(roles) > 0 && !hasRoleIn(u.Role, roles) {
			continue
		}
		l := core.Text{ZH: u.Username, EN: u.Username}
		if u.DisplayName != "" && u.DisplayName != u.Username {
			l = core.Text{ZH: u.DisplayName + "（" + u.Username + "）", EN: u.DisplayName + " (" + u.Username + ")"}
		}
		out = append(out, option{Value: strconv.FormatInt(u.ID, 10), Label: l})
	}
	return out, nil
}

func hasRoleIn(r users.Role, roles []users.Role) bool {
	for _, x := range roles {
		if x == r {
			return true
		}
	}
	return false
}

// flagOptions offers a list's flags with their names.
func flagOptions(values []string, names map[string]core.Text) []option {
	out := make([]option, 0, len(values))
	for _, v := range values {
		out = append(out, option{Value: v, Label: names[v]})
	}
	return out
}

// With is path with the list's filters as its query string, for links and
// forms that carry them to another page.
func (p *listPage) With(path string) string {
	if q := p.FilterQuery(); q != "" {
		return path + "?" + q
	}
	return path
}

// Cleared is the list without its filters.
func (p *listPage) Cleared() string {
	if len(p.Keep) > 0 {
		return p.Path + "?" + p.Keep.Encode()
	}
	return p.Path
}
