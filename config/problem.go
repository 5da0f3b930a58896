package config

import (
	"errors"
	"fmt"
	"strings"
)

// Severity grades a Problem.
type Severity int

const (
	// SeverityError means the object (or the whole file when Problem.Object is empty) was not
	// loaded.
	SeverityError Severity = iota
	// SeverityWarning means the object was loaded, but something in it was ignored or is
	// suspicious.
	SeverityWarning
)

// String returns "error" or "warning".
func (s Severity) String() string {
	if s == SeverityWarning {
		return "warning"
	}
	return "error"
}

// Problem is one error or warning found while loading a configuration. Its message always
// names the file and the field, e.g.
//
//	wasmplugins/foo.yaml: spec.matchRules[1]: invalid match rule has no match condition
type Problem struct {
	Severity Severity
	// File is the file as the user knows it (relative to a data directory, or as given).
	File string
	// Field is the field path inside the file ("" when the problem concerns the whole file).
	Field string
	// Object identifies the object affected, such as "WasmPlugin higress-system/foo"; empty
	// when the whole file is affected (for instance a YAML syntax error).
	Object string
	Err    error
}

// Error renders "file: field: message".
func (p Problem) Error() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		b.WriteString(": ")
	}
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	if p.Err != nil {
		b.WriteString(p.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (p Problem) Unwrap() error { return p.Err }

// Problems is a list of problems in the order found.
type Problems []Problem

// Errorf records an error at file and field.
func (ps *Problems) Errorf(file, field, object, format string, args ...any) {
	*ps = append(*ps, Problem{Severity: SeverityError, File: file, Field: field, Object: object, Err: fmt.Errorf(format, args...)})
}

// Warnf records a warning at file and field.
func (ps *Problems) Warnf(file, field, object, format string, args ...any) {
	*ps = append(*ps, Problem{Severity: SeverityWarning, File: file, Field: field, Object: object, Err: fmt.Errorf(format, args...)})
}

// Errors returns the problems of SeverityError.
func (ps Problems) Errors() Problems { return ps.filter(SeverityError) }

// Warnings returns the problems of SeverityWarning.
func (ps Problems) Warnings() Problems { return ps.filter(SeverityWarning) }

func (ps Problems) filter(s Severity) Problems {
	var out Problems
	for _, p := range ps {
		if p.Severity == s {
			out = append(out, p)
		}
	}
	return out
}

// Err joins the errors (not the warnings) into one error, or returns nil when there are none.
func (ps Problems) Err() error {
	var errs []error
	for _, p := range ps {
		if p.Severity == SeverityError {
			errs = append(errs, p)
		}
	}
	return errors.Join(errs...)
}

// Result is what an adapter returns: the configuration that could be built, and every problem
// found on the way. Config may be usable even when Problems has errors — a broken file or
// object is left out (or replaced by its last good version, see config/higress.Loader) while
// the rest loads.
type Result struct {
	Config   *Config
	Problems Problems
	// Files lists the configuration files read, for watching.
	Files []string
}
