// Package tokenusage reads the token usage of LLM responses (OpenAI chat
// completions, responses and images, Anthropic messages, Gemini, Doubao),
// whole JSON bodies or SSE streams, and records it on the request as user
// attributes, with the names and behaviour of Higress's pkg/tokenusage.
//
// It imports gjson; plugins that do not import this package do not link it.
package tokenusage

import (
	"bytes"

	"github.com/tidwall/gjson"

	"github.com/wasmgate/wasmgate/sdk/bodyjson"
	"github.com/wasmgate/wasmgate/sdk/wrapper"
)

// User-attribute (and context) keys.
const (
	CtxKeyInputToken         = "input_token"
	CtxKeyInputTokenDetails  = "input_token_details"
	CtxKeyOutputToken        = "output_token"
	CtxKeyOutputTokenDetails = "output_token_details"
	CtxKeyTotalToken         = "total_token"
	CtxKeyModel              = "model"
	CtxKeyRequestModel       = "request_model"
	CtxKeyChatId             = "chat_id"

	ModelEmpty   = ""
	ModelUnknown = "unknown"
)

// JSON paths, by API.
const (
	ChatIdPathOpenAIChatCompletions = "id"
	ChatIdPathOpenAIResponses       = "response.id"
	ChatIdPathGemini                = "responseId"
	ChatIdPathAnthropicMessages     = "message.id"

	ModelPathOpenAIChatCompletions = "model"
	ModelPathOpenAIResponses       = "response.model"
	ModelPathAnthropicMessages     = "message.model"
	ModelPathGeminiGenerateContent = "modelVersion"

	UsageInputTokensPathOpenAIChatCompletions = "usage.prompt_tokens"
	UsageInputTokensPathOpenAIImages          = "usage.input_tokens"
	UsageInputTokensPathOpenAIResponses       = "response.usage.input_tokens"
	UsageInputTokensPathGemini                = "usageMetadata.promptTokenCount"
	UsageInputTokensPathAnthropicMessages     = "message.usage.input_tokens"

	UsageCacheCreationInputTokensPathAnthropicMessages = "usage.cache_creation_input_tokens"
	UsageCacheReadInputTokensPathAnthropicMessages     = "usage.cache_read_input_tokens"

	UsageInputTokensDetailsPathOpenAIChatCompletions = "usage.prompt_tokens_details"
	UsageInputTokensDetailsPathOpenAIResponses       = "response.usage.input_tokens_details"
	UsageInputTokensDetailsPathDoubao                = "usage.input_tokens_details"
	UsageInputTokensDetailsPathGemini                = "usageMetadata.promptTokensDetails"

	UsageOutputTokensPathOpenAIChatCompletions = "usage.completion_tokens"
	UsageOutputTokensPathOpenAIImages          = "usage.output_tokens"
	UsageOutputTokensPathOpenAIResponses       = "response.usage.output_tokens"
	UsageOutputTokensPathGemini                = "usageMetadata.candidatesTokenCount"
	UsageOutputTokensPathAnthropicMessages     = "message.usage.output_tokens"

	UsageMetadataThoughtsTokenCountPathGemini      = "usageMetadata.thoughtsTokenCount"
	UsageMetadataCachedContentTokenCountPathGemini = "usageMetadata.cachedContentTokenCount"
	UsageMetadataToolUsePromptTokenCountPathGemini = "usageMetadata.toolUsePromptTokenCount"
	UsageGeneratedImagesPathDoubao                 = "usage.generated_images"

	UsageOutputTokensDetailsPathOpenAIChatCompletions = "usage.completion_tokens_details"
	UsageOutputTokensDetailsPathOpenAIResponses       = "response.usage.output_tokens_details"
	UsageOutputTokensDetailsPathDoubao                = "usage.output_tokens_details"
	UsageOutputTokensDetailsPathGemini                = "usageMetadata.candidatesTokensDetails"

	UsageTotalTokensPathOpenAIChatCompletions = "usage.total_tokens"
	UsageTotalTokensPathOpenAIResponses       = "response.usage.total_tokens"
	UsageTotalTokensPathGemini                = "usageMetadata.totalTokenCount"
)

// Keys of the details maps.
const (
	InputTokenDetailsKeyAnthropicMessagesUsageCacheCreationInputTokens = "cache_creation_input_tokens"
	InputTokenDetailsKeyAnthropicMessagesUsageCacheReadInputTokens     = "cache_read_input_tokens"
	InputTokenDetailsKeyGeminiCachedContentTokenCount                  = "cached_content_token_count"
	InputTokenDetailsKeyGeminiToolUsePromptTokenCount                  = "tool_use_prompt_token_count"

	OutputTokenDetailsKeyDoubaoGeneratedImages    = "generated_images"
	OutputTokenDetailsKeyGeminiThoughtsTokenCount = "thoughts_token_count"
)

// TokenUsage is the usage read from a response.
type TokenUsage struct {
	InputToken         int64
	InputTokenDetails  map[string]int64
	OutputTokenDetails map[string]int64
	OutputToken        int64
	TotalToken         int64
	Model              string

	// Anthropic Messages
	AnthropicCacheCreationInputToken int64
	AnthropicCacheReadInputToken     int64
}

// firstValue returns the value at the first of paths that exists in body,
// or nil.
func firstValue(body []byte, paths ...string) *gjson.Result {
	return bodyjson.GetValueFromBody(body, paths)
}

// GetTokenUsage reads the usage of a response body: a JSON document or an
// SSE stream, whose events that carry "usage" or "usageMetadata" are read
// in order (later events override earlier ones). Every value is recorded
// with ctx.SetUserAttribute under the CtxKey* names.
func GetTokenUsage(ctx wrapper.HttpContext, body []byte) TokenUsage {
	u := TokenUsage{InputTokenDetails: map[string]int64{}, OutputTokenDetails: map[string]int64{}}
	events := bytes.Split(bytes.TrimSpace(wrapper.UnifySSEChunk(body)), []byte("\n\n"))
	for _, ev := range events {
		if !bytes.Contains(ev, []byte(`"usage"`)) && !bytes.Contains(ev, []byte(`"usageMetadata"`)) {
			continue
		}
		ExtractModel(ctx, ev, &u)
		ExtractInputTokens(ctx, ev, &u)
		ExtractOutputTokens(ctx, ev, &u)
		ExtractInputTokenDetails(ctx, ev, &u)
		ExtractOutputTokenDetails(ctx, ev, &u)
		ExtractTotalTokens(ctx, ev, &u)
	}
	return u
}

// ExtractModel sets u.Model from the body, else from the "model" user
// attribute or the "request_model" context value, else "unknown".
func ExtractModel(ctx wrapper.HttpContext, body []byte, u *TokenUsage) {
	if m := firstValue(body, ModelPathOpenAIChatCompletions, ModelPathOpenAIResponses,
		ModelPathAnthropicMessages, ModelPathGeminiGenerateContent); m != nil {
		u.Model = m.String()
	} else if m, ok := ctx.GetUserAttribute(CtxKeyModel).(string); ok && m != ModelEmpty && m != ModelUnknown {
		u.Model = m
	} else if m := ctx.GetStringContext(CtxKeyRequestModel, ModelEmpty); m != ModelEmpty {
		u.Model = m
	} else {
		u.Model = ModelUnknown
	}
	ctx.SetUserAttribute(CtxKeyModel, u.Model)
}

// ExtractInputTokens sets u.InputToken from the body, else keeps a positive
// "input_token" user attribute.
func ExtractInputTokens(ctx wrapper.HttpContext, body []byte, u *TokenUsage) {
	if v := firstValue(body, UsageInputTokensPathOpenAIChatCompletions, UsageInputTokensPathOpenAIImages,
		UsageInputTokensPathOpenAIResponses, UsageInputTokensPathGemini, UsageInputTokensPathAnthropicMessages); v != nil {
		u.InputToken = v.Int()
	} else if n, ok := ctx.GetUserAttribute(CtxKeyInputToken).(int64); ok && n > 0 {
		u.InputToken = n
	}
	ctx.SetUserAttribute(CtxKeyInputToken, u.InputToken)
}

// ExtractOutputTokens sets u.OutputToken from the body, else keeps a
// positive "output_token" user attribute.
func ExtractOutputTokens(ctx wrapper.HttpContext, body []byte, u *TokenUsage) {
	if v := firstValue(body, UsageOutputTokensPathOpenAIChatCompletions, UsageOutputTokensPathOpenAIImages,
		UsageOutputTokensPathOpenAIResponses, UsageOutputTokensPathGemini, UsageOutputTokensPathAnthropicMessages); v != nil {
		u.OutputToken = v.Int()
	} else if n, ok := ctx.GetUserAttribute(CtxKeyOutputToken).(int64); ok && n > 0 {
		u.OutputToken = n
	}
	ctx.SetUserAttribute(CtxKeyOutputToken, u.OutputToken)
}

// ExtractInputTokenDetails fills u.InputTokenDetails (and the Anthropic
// cache counts).
func ExtractInputTokenDetails(ctx wrapper.HttpContext, body []byte, u *TokenUsage) {
	if d := firstValue(body, UsageInputTokensDetailsPathOpenAIChatCompletions, UsageInputTokensDetailsPathOpenAIResponses,
		UsageInputTokensDetailsPathDoubao, UsageInputTokensDetailsPathGemini); d != nil && d.IsObject() {
		for k, v := range d.Map() {
			u.InputTokenDetails[k] = v.Int()
		}
	}
	if v := firstValue(body, UsageMetadataCachedContentTokenCountPathGemini); v != nil {
		u.InputTokenDetails[InputTokenDetailsKeyGeminiCachedContentTokenCount] = v.Int()
	}
	if v := firstValue(body, UsageMetadataToolUsePromptTokenCountPathGemini); v != nil {
		u.InputTokenDetails[InputTokenDetailsKeyGeminiToolUsePromptTokenCount] = v.Int()
	}
	if v := firstValue(body, UsageCacheCreationInputTokensPathAnthropicMessages); v != nil {
		u.AnthropicCacheCreationInputToken = v.Int()
		u.InputTokenDetails[InputTokenDetailsKeyAnthropicMessagesUsageCacheCreationInputTokens] = v.Int()
	}
	if v := firstValue(body, UsageCacheReadInputTokensPathAnthropicMessages); v != nil {
		u.AnthropicCacheReadInputToken = v.Int()
		u.InputTokenDetails[InputTokenDetailsKeyAnthropicMessagesUsageCacheReadInputTokens] = v.Int()
	}
	ctx.SetUserAttribute(CtxKeyInputTokenDetails, u.InputTokenDetails)
}

// ExtractOutputTokenDetails fills u.OutputTokenDetails.
func ExtractOutputTokenDetails(ctx wrapper.HttpContext, body []byte, u *TokenUsage) {
	if d := firstValue(body, UsageOutputTokensDetailsPathOpenAIChatCompletions, UsageOutputTokensDetailsPathOpenAIResponses,
		UsageOutputTokensDetailsPathDoubao, UsageOutputTokensDetailsPathGemini); d != nil && d.IsObject() {
		for k, v := range d.Map() {
			u.OutputTokenDetails[k] = v.Int()
		}
	}
	if v := firstValue(body, UsageMetadataThoughtsTokenCountPathGemini); v != nil {
		u.OutputTokenDetails[OutputTokenDetailsKeyGeminiThoughtsTokenCount] = v.Int()
	}
	if v := firstValue(body, UsageGeneratedImagesPathDoubao); v != nil {
		u.OutputTokenDetails[OutputTokenDetailsKeyDoubaoGeneratedImages] = v.Int()
	}
	ctx.SetUserAttribute(CtxKeyOutputTokenDetails, u.OutputTokenDetails)
}

// ExtractTotalTokens sets u.TotalToken from the body, else the sum of the
// input, output and Anthropic cache counts.
func ExtractTotalTokens(ctx wrapper.HttpContext, body []byte, u *TokenUsage) {
	if v := firstValue(body, UsageTotalTokensPathOpenAIChatCompletions, UsageTotalTokensPathOpenAIResponses,
		UsageTotalTokensPathGemini); v != nil {
		u.TotalToken = v.Int()
	} else {
		u.TotalToken = u.InputToken + u.OutputToken + u.AnthropicCacheCreationInputToken + u.AnthropicCacheReadInputToken
	}
	ctx.SetUserAttribute(CtxKeyTotalToken, u.TotalToken)
}

// ExtractChatId records the response id as the "chat_id" user attribute.
func ExtractChatId(ctx wrapper.HttpContext, body []byte) {
	if v := firstValue(body, ChatIdPathOpenAIChatCompletions, ChatIdPathOpenAIResponses,
		ChatIdPathGemini, ChatIdPathAnthropicMessages); v != nil {
		ctx.SetUserAttribute(CtxKeyChatId, v.String())
	}
}
