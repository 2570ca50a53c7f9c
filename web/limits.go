package web

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"minyi/core"
)

// How much a request may send. Nothing of a body is read before the gate
// has decided who may send it (auth.go); then the route's limit holds
// while the body is read, not after it has arrived.
const (
	signInBodyLimit = 16 << 10 // the sign-in form
	formBodyLimit   = 1 << 20  // any other form or JSON
	// csrfPartLimit bounds what an upload may send before its CSRF token
	// (the form's first field) has been checked.
	csrfPartLimit = 64 << 10
	// uploadFieldsLimit bounds the fields an upload form sends before its
	// file (kind, encoding…).
	uploadFieldsLimit = 64 << 10
	// DefaultMaxUpload is the largest upload (a census frame) unless the
	// server is told otherwise.
	DefaultMaxUpload = 2 << 30
)

// Timeouts bound how long a client may take; a slow or idle client holds
// no more than a connection's goroutine, and only for so long.
type Timeouts struct {
	Header time.Duration // to send the request line and headers
	Form   time.Duration // to send a form's body (from the start of the request)
	Upload time.Duration // to send an upload's body, once the gate let it in
	Idle   time.Duration // between requests on a kept-alive connection
}

// DefaultTimeouts: an upload of 2 GB takes half an hour at 10 Mbit/s.
var DefaultTimeouts = Timeouts{Header: 10 * time.Second, Form: 30 * time.Second, Upload: 2 * time.Hour, Idle: 2 * time.Minute}

// body is a request's body as the handlers read it: every read counts
// against the limit the route's gate set, and its end lifts the read
// deadline, so that a long handler is not cancelled by the deadline of a
// body it has finished reading.
type body struct {
	r     io.ReadCloser
	read  int64
	limit int64
	err   error
	rc    *http.ResponseController
}

const bodyKey = "minyi.body"

func (b *body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	// Read one byte past the limit to tell "exactly the limit" from "more".
	if room := b.limit - b.read + 1; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.r.Read(p)
	b.read += int64(n)
	if b.read > b.limit {
		n -= int(b.read - b.limit)
		b.read = b.limit
		b.err = &http.MaxBytesError{Limit: b.limit}
		return n, b.err
	}
	if err == io.EOF {
		b.rc.SetReadDeadline(time.Time{})
	}
	if err != nil {
		b.err = err
	}
	return n, err
}

func (b *body) Close() error { return b.r.Close() }

// guardBodies is the first middleware of every request: a request with a
// body gets the form's read deadline and limit until its route's gate says
// otherwise. A request to no route keeps them.
func (s *Server) guardBodies(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Body != nil && r.Body != http.NoBody {
			rc := http.NewResponseController(c.Response())
			rc.SetReadDeadline(time.Now().Add(s.opt.Timeouts.Form))
			b := &body{r: r.Body, limit: formBodyLimit, rc: rc}
			r.Body = b
			c.Set(bodyKey, b)
		}
		return next(c)
	}
}

func bodyOf(c echo.Context) *body {
	b, _ := c.Get(bodyKey).(*body)
	return b
}

// tooLarge reports whether err is a body over its route's limit.
func tooLarge(err error) (*http.MaxBytesError, bool) {
	var me *http.MaxBytesError
	return me, errors.As(err, &me)
}

// tooSlow reports whether err is a body that did not arrive in time.
func tooSlow(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// sizeText says a size for people: 2 GB, 16 KB.
func sizeText(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d KB", max(1, n>>10))
}

func isMultipart(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	return mt == "multipart/form-data"
}

// upload is an upload form read as a stream: its fields before the file
// (in r.Form, for FormValue) and the file, still unread.
type upload struct {
	mr   *multipart.Reader
	file *multipart.Part // nil when the form has none
}

const uploadKey = "minyi.upload"

// firstField reads the first field of an upload form, which must be the
// CSRF token: the upload forms put it first, and browsers send fields in
// the order of the page. It reads no more than csrfPartLimit.
func firstField(c echo.Context) (*multipart.Reader, string) {
	mr, err := c.Request().MultipartReader()
	if err != nil {
		return nil, ""
	}
	p, err := mr.NextPart()
	if err != nil || p.FormName() != "csrf" || p.FileName() != "" {
		return mr, ""
	}
	v, _ := io.ReadAll(io.LimitReader(p, 256))
	return mr, string(v)
}

// readUploadFields reads an upload form's fields up to its file and leaves
// the file to be streamed by the handler: nothing is buffered whole in
// memory or a temporary file. Fields after the file are not read; the
// upload forms put the file last.
func readUploadFields(c echo.Context, mr *multipart.Reader) error {
	r := c.Request()
	form := url.Values{}
	up := &upload{mr: mr}
	var size int64
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if p.FileName() != "" || p.FormName() == "file" {
			up.file = p
			break
		}
		v, err := io.ReadAll(io.LimitReader(p, uploadFieldsLimit-size+1))
		if err != nil {
			return err
		}
		size += int64(len(v))
		if size > uploadFieldsLimit {
			return &http.MaxBytesError{Limit: uploadFieldsLimit}
		}
		if !utf8.ValidString(p.FormName()) || !utf8.Valid(v) {
			return errBadUTF8
		}
		form.Add(p.FormName(), string(v))
	}
	r.PostForm = form
	r.Form = url.Values{}
	for k, vs := range r.URL.Query() {
		r.Form[k] = append(r.Form[k], vs...)
	}
	for k, vs := range form {
		r.Form[k] = append(r.Form[k], vs...)
	}
	c.Set(uploadKey, up)
	return nil
}

// uploaded is the file of an upload form, to be read once as a stream; the
// route's limit holds while it is read.
func uploaded(c echo.Context) (io.ReadCloser, string, error) {
	up, _ := c.Get(uploadKey).(*upload)
	if up == nil || up.file == nil || up.file.FileName() == "" {
		return nil, "", core.Errorf(core.EInvalid, "请选择要上传的 CSV 文件", "choose a CSV file to upload")
	}
	return up.file, up.file.FileName(), nil
}

var errBadUTF8 = errors.New("web: not UTF-8")

// validUTF8 reports whether a request's parsed parameters are UTF-8: text
// that is not would be stored as mojibake or refused by PostgreSQL halfway
// through.
func validUTF8(r *http.Request) bool {
	for _, vals := range []url.Values{r.URL.Query(), r.Form} {
		for k, vs := range vals {
			if !utf8.ValidString(k) {
				return false
			}
			for _, v := range vs {
				if !utf8.ValidString(v) {
					return false
				}
			}
		}
	}
	return true
}

// wantsForm reports whether a body is an HTML form the gate may parse.
func wantsForm(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get(echo.HeaderContentType), echo.MIMEApplicationForm)
}
