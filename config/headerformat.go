package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// HeaderFormat is a parsed header value of a header mutation: literal text and Envoy's
// substitution commands (%REQ(x-y)%, %DOWNSTREAM_REMOTE_ADDRESS%, …).
type HeaderFormat []FormatPart

// FormatPart is literal text (Command "") or one %COMMAND(ARG):MAX% substitution.
type FormatPart struct {
	Literal string
	Command string
	// Arg is the text in parentheses; for REQ and RESP it is "name" or "name?fallback".
	Arg string
	// MaxLen truncates the value (0: no limit).
	MaxLen int
}

// FormatCommands are the substitution commands the gateway evaluates in header values. Other
// commands Envoy knows are accepted with a warning and expand to "" (so the header is dropped
// unless keep_empty_value is set).
var FormatCommands = map[string]bool{
	"REQ": true, "RESP": true,
	"DOWNSTREAM_REMOTE_ADDRESS": true, "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT": true, "DOWNSTREAM_REMOTE_PORT": true,
	"DOWNSTREAM_DIRECT_REMOTE_ADDRESS": true, "DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT": true, "DOWNSTREAM_DIRECT_REMOTE_PORT": true,
	"DOWNSTREAM_LOCAL_ADDRESS": true, "DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT": true, "DOWNSTREAM_LOCAL_PORT": true,
	"UPSTREAM_HOST": true, "UPSTREAM_REMOTE_ADDRESS": true, "UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT": true, "UPSTREAM_REMOTE_PORT": true,
	"UPSTREAM_CLUSTER": true, "ROUTE_NAME": true, "PROTOCOL": true, "HOSTNAME": true, "START_TIME": true,
	"RESPONSE_CODE": true, "RESPONSE_CODE_DETAILS": true, "REQUESTED_SERVER_NAME": true, "ENVIRONMENT": true,
	"CONNECTION_ID": true,
}

// Envoy's command syntax: %NAME%, %NAME(ARG)%, %NAME(ARG):MAX%.
var formatCommand = regexp.MustCompile(`^%([A-Z0-9_]+)(\(([^)]*)\))?(:([0-9]+))?%`)

// ParseHeaderFormat parses a header value as Envoy's header formatter does: "%%" is a literal
// "%", and every other "%" starts a command. It fails where Envoy rejects the value (a "%" that
// starts no command); unsupported lists the commands the gateway does not evaluate.
func ParseHeaderFormat(s string) (f HeaderFormat, unsupported []string, err error) {
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			f = append(f, FormatPart{Literal: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c != '%' {
			lit.WriteByte(c)
			i++
			continue
		}
		if strings.HasPrefix(s[i:], "%%") {
			lit.WriteByte('%')
			i += 2
			continue
		}
		m := formatCommand.FindStringSubmatch(s[i:])
		if m == nil {
			return nil, nil, fmt.Errorf("invalid header value %q: no valid command at position %d (write %%%% for a literal %%)", s, i)
		}
		flush()
		p := FormatPart{Command: m[1], Arg: m[3]}
		if m[5] != "" {
			p.MaxLen, _ = strconv.Atoi(m[5])
		}
		if (p.Command == "REQ" || p.Command == "RESP") && p.Arg == "" {
			return nil, nil, fmt.Errorf("invalid header value %q: %%%s%% needs a header name", s, p.Command)
		}
		if !FormatCommands[p.Command] || (p.Command == "START_TIME" && p.Arg != "") {
			unsupported = append(unsupported, "%"+m[1]+m[2]+"%")
		}
		f = append(f, p)
		i += len(m[0])
	}
	flush()
	return f, unsupported, nil
}

// Literal reports whether f has no commands, and its text.
func (f HeaderFormat) Literal() (string, bool) {
	var b strings.Builder
	for _, p := range f {
		if p.Command != "" {
			return "", false
		}
		b.WriteString(p.Literal)
	}
	return b.String(), true
}
