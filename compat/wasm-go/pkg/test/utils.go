package test

import "strings"

// HasHeader reports whether headers hold name (case-insensitive).
func HasHeader(headers [][2]string, name string) bool {
	_, ok := GetHeaderValue(headers, name)
	return ok
}

// GetHeaderValue returns the first value of name (case-insensitive).
func GetHeaderValue(headers [][2]string, name string) (string, bool) {
	for _, h := range headers {
		if strings.EqualFold(h[0], name) {
			return h[1], true
		}
	}
	return "", false
}

// HasHeaderWithValue reports whether headers hold name with value.
func HasHeaderWithValue(headers [][2]string, name, value string) bool {
	for _, h := range headers {
		if strings.EqualFold(h[0], name) && h[1] == value {
			return true
		}
	}
	return false
}
