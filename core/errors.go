package core

import (
	"errors"
	"fmt"
)

// Error codes shared by the domain packages; web maps them to HTTP statuses
// in one place.
const (
	EInvalid  = "invalid"   // bad input from the user
	ENotFound = "not_found" // no such thing (or not yours to see)
	EConflict = "conflict"  // the state changed under the request
	EInternal = "internal"
)

// Error is a domain error with a code and a message for people in Chinese
// and English.
type Error struct {
	Code string
	ZH   string
	EN   string
	Err  error // underlying cause, for logs
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.ZH + " / " + e.EN + ": " + e.Err.Error()
	}
	return e.ZH + " / " + e.EN
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf makes an Error; the arguments fill both formats.
func Errorf(code, zh, en string, args ...any) *Error {
	return &Error{Code: code, ZH: fmt.Sprintf(zh, args...), EN: fmt.Sprintf(en, args...)}
}

// ErrorCode returns the code of err: that of an *Error in its chain, or of
// an error that states its own code (one with an ErrorCode method, such as
// a list of problems in an imported file); EInternal for anything else.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var c interface{ ErrorCode() string }
	if errors.As(err, &c) {
		return c.ErrorCode()
	}
	return EInternal
}
