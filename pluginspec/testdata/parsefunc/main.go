package main

import "github.com/tidwall/gjson"

type Other struct {
	A string `json:"a"`
}

// MyConfig has no annotations; it is found through parseConfig.
type MyConfig struct {
	MockEnable bool   `json:"mockEnable"`
	Content    string `json:"content" example:"hello"`
}

func parseConfig(json gjson.Result, config *MyConfig, log any) error { return nil }
