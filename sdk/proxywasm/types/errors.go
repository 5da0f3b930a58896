package types

import "errors"

// Errors returned by the proxywasm API for non-OK host statuses.
var (
	ErrorStatusNotFound    = errors.New("error status returned by host: not found")
	ErrorStatusBadArgument = errors.New("error status returned by host: bad argument")
	ErrorStatusEmpty       = errors.New("error status returned by host: empty")
	ErrorStatusCasMismatch = errors.New("error status returned by host: cas mismatch")
	ErrorInternalFailure   = errors.New("error status returned by host: internal failure")
	ErrorUnimplemented     = errors.New("error status returned by host: unimplemented")
)

// StatusToError maps a host status to the SDK error for it; StatusOK gives nil.
func StatusToError(s Status) error {
	switch s {
	case StatusOK:
		return nil
	case StatusNotFound:
		return ErrorStatusNotFound
	case StatusBadArgument:
		return ErrorStatusBadArgument
	case StatusEmpty:
		return ErrorStatusEmpty
	case StatusCasMismatch:
		return ErrorStatusCasMismatch
	case StatusInternalFailure:
		return ErrorInternalFailure
	case StatusUnimplemented:
		return ErrorUnimplemented
	}
	return errors.New("unknown status code: " + itoa(uint64(s)))
}
