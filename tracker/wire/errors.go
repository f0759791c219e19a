package wire

import (
	"errors"
	"strconv"
)

// ErrorKind classifies a DecodeError.
type ErrorKind uint8

// Decode error kinds.
const (
	ErrSyntax    ErrorKind = iota + 1 // the frame is not valid JSON (JSON.parse would throw)
	ErrNotObject                      // valid JSON, but not an object (null, array, number, …)
	ErrTooDeep                        // objects/arrays nested deeper than MaxDepth
)

var errorKindText = [...]string{
	0:            "unknown error",
	ErrSyntax:    "invalid JSON",
	ErrNotObject: "JSON value is not an object",
	ErrTooDeep:   "JSON nested too deeply",
}

// String returns a short description of the kind.
func (k ErrorKind) String() string {
	if int(k) < len(errorKindText) {
		return errorKindText[k]
	}
	return errorKindText[0]
}

// DecodeError is the only error Decode returns.
type DecodeError struct {
	Kind   ErrorKind
	Offset int // byte offset in the frame where the problem was found
}

// Error describes the problem and where it is; it never quotes frame content.
func (e *DecodeError) Error() string {
	return "wire: " + e.Kind.String() + " at offset " + strconv.Itoa(e.Offset)
}

// Errors of ParseOfferItem, with wt-tracker's TrackerError texts.
var (
	ErrOfferItem  = errors.New("announce: wrong offer item format")
	ErrOfferField = errors.New("announce: wrong offer item field format")
)
