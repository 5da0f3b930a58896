package matcher

import (
	"github.com/tidwall/gjson"

	sdkmatcher "github.com/wasmgate/wasmgate/sdk/matcher"
)

// RuleMatcher is the SDK's RuleMatcher with Higress's ParseRuleConfig,
// whose configuration and parsers are gjson values.
type RuleMatcher[C any] struct {
	sdkmatcher.RuleMatcher[C]
}

// ParseRuleConfig parses config into m (see the SDK's
// RuleMatcher.ParseRuleConfig). ctx may be nil or any PluginContext.
func (m *RuleMatcher[C]) ParseRuleConfig(ctx sdkmatcher.IsolationChecker, config gjson.Result,
	parsePluginConfig func(gjson.Result, *C) error, parseOverrideConfig func(gjson.Result, C, *C) error) error {
	var global func([]byte, *C) error
	if parsePluginConfig != nil {
		global = func(b []byte, c *C) error { return parsePluginConfig(gjson.ParseBytes(b), c) }
	}
	var rule func([]byte, C, *C) error
	if parseOverrideConfig != nil {
		rule = func(b []byte, g C, c *C) error { return parseOverrideConfig(gjson.ParseBytes(b), g, c) }
	}
	return m.RuleMatcher.ParseRuleConfig(ctx, []byte(config.Raw), global, rule)
}
