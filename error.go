package upfactory

import (
	"errors"
	"fmt"
)

// Error codes the API and the CLI distinguish. Each maps to one HTTP status
// in package http and to one CLI exit code in cmd/upfactory.
const (
	ECONFLICT     = "conflict"     // the request clashes with current state (a rollout already runs)
	EINTERNAL     = "internal"     // a bug or an unexpected failure
	EINVALID      = "invalid"      // the request or config is malformed
	ENOTFOUND     = "not_found"    // no such service, rollout or record
	EUNAUTHORIZED = "unauthorized" // a token is configured and the call did not carry a valid one
	EFORBIDDEN    = "forbidden"    // the caller's role may not do this
	EUNAVAILABLE  = "unavailable"  // a dependency (instance, router, store) did not answer
)

// Error is the one coded error of the application. Code says what kind of
// failure it is; Message is written for the person who reads it.
type Error struct {
	Code    string
	Message string
	// Details, when set, is what a program needs besides the message
	// (the closed gates of a refused rollout); the API sends it as JSON.
	Details any
}

func (e *Error) Error() string {
	return fmt.Sprintf("upfactory error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human message of the first *Error in err's chain,
// or a generic text for other errors so internals do not leak to clients.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
