package main

import (
	"time"

	"github.com/tidwall/gjson"
)

func main() {}

// Mode says how block_urls entries are compared.
type Mode string

const (
	ModeExact  Mode = "exact"
	ModePrefix Mode = "prefix"
	ModeRegexp Mode = "regexp"
)

// Config configures request blocking.
//
// @Name request-block
// @Category security
// @Phase AUTHZ
// @Priority 320
// @Title Request Block
// @Title[zh-CN] 请求屏蔽
// @Description Blocks requests by URL, header or body.
// @Description zh-CN 按 URL、请求头或请求体屏蔽请求。
// @Version 1.2.0
// @Contact.name Example Team
// @Contact.email team@example.com
// @Example
// blocked_code: 403
// block_urls: [swagger.html]
// mode: exact
// @End
type Config struct {
	// URL substrings to block.
	// @Title[zh-CN] 屏蔽的 URL
	BlockURLs []string `json:"block_urls" minItems:"1"`
	// Header values to block.
	BlockHeaders []string `json:"block_headers,omitempty"`
	// HTTP status code of the block response.
	BlockedCode int `json:"blocked_code" required:"true" minimum:"101" maximum:"599" default:"403"`
	// Body of the block response.
	BlockedMessage string `json:"blocked_message" maxLength:"64" example:"blocked"`
	// Compare case-sensitively.
	CaseSensitive *bool `json:"case_sensitive" default:"true"`
	Mode          Mode  `json:"mode"`
	// Per-host limits.
	Limits map[string]Limit `json:"limits"`
	// Upstream to report to.
	// @Scope GLOBAL
	Report  Reporter          `yaml:"report"`
	Timeout time.Duration     `json:"timeout"`
	Extra   map[string]any    `json:"extra"`
	Labels  map[string]string `json:"labels" pattern:"^[a-z]+$"`
	Ratio   float64           `json:"ratio" exclusiveMinimum:"true" minimum:"0"`
	Common
	internal int
	skipped  string `json:"-"`
	hidden   string `json:"hidden_key"`
}

// Limit is a request budget.
type Limit struct {
	Requests uint32 `json:"requests" required:"true"`
	Burst    int    `json:"burst"`
}

// Reporter sends block events somewhere.
type Reporter struct {
	Service string    `json:"service" required:"true" pattern:"^[a-z.-]+$"`
	Port    int64     `json:"port"`
	Next    *Reporter `json:"next"`
}

// Common fields shared by plugins.
type Common struct {
	// Log blocked requests.
	Log bool `json:"log"`
}

func parseConfig(json gjson.Result, config *Config) error { return nil }
