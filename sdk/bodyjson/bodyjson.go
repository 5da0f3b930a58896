// Package bodyjson reads values from JSON bodies with gjson. It is the home
// of Higress's wrapper.GetValueFromBody, kept out of the wrapper package so
// that plugins that do not read JSON bodies do not link gjson.
package bodyjson

import "github.com/tidwall/gjson"

// GetValueFromBody returns the value at the first of paths (gjson paths)
// that exists in the JSON document data, or nil.
func GetValueFromBody(data []byte, paths []string) *gjson.Result {
	for _, p := range paths {
		if r := gjson.GetBytes(data, p); r.Exists() {
			return &r
		}
	}
	return nil
}
