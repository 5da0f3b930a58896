package wrapper

// The declarations of this file keep Higress's signatures (named callback
// and parser types over gjson, net/http and time) and forward to wasmgate's
// SDK.

import (
	"net/http"
	"time"

	"github.com/tidwall/gjson"

	"github.com/wasmgate/wasmgate/sdk/bodyjson"
	sdklog "github.com/wasmgate/wasmgate/sdk/log"
	"github.com/wasmgate/wasmgate/sdk/resp"
	sdkwrapper "github.com/wasmgate/wasmgate/sdk/wrapper"
)

// Parser types.
type (
	ParseConfigFunc[C any]                   func(json gjson.Result, config *C) error
	ParseConfigWithContextFunc[C any]        func(ctx PluginContext, json gjson.Result, config *C) error
	ParseRawConfigFunc[C any]                func(configBytes []byte, config *C) error
	ParseRawConfigWithContextFunc[C any]     func(ctx PluginContext, configBytes []byte, config *C) error
	ParseRuleConfigFunc[C any]               func(json gjson.Result, global C, config *C) error
	ParseRawRuleConfigFunc[C any]            func(configBytes []byte, global C, config *C) error
	ParseRawRuleConfigWithContextFunc[C any] func(ctx PluginContext, configBytes []byte, global C, config *C) error
)

// ParseConfig sets the parser of the global and rule configurations.
func ParseConfig[C any](f ParseConfigFunc[C]) CtxOption[C] {
	return sdkwrapper.ParseConfig[C, gjson.Result](f)
}

// ParseConfigWithContext is ParseConfig with the plugin context.
func ParseConfigWithContext[C any](f ParseConfigWithContextFunc[C]) CtxOption[C] {
	return sdkwrapper.ParseConfigWithContext[C, gjson.Result](f)
}

// ParseRawConfig sets a parser of the raw configuration bytes.
func ParseRawConfig[C any](f ParseRawConfigFunc[C]) CtxOption[C] {
	return sdkwrapper.ParseRawConfig[C](f)
}

// ParseConfigBy is the deprecated form of ParseConfig whose parser takes a
// logger.
func ParseConfigBy[C any](f func(json gjson.Result, config *C, log sdklog.Log) error) CtxOption[C] {
	return sdkwrapper.ParseConfigBy[C, gjson.Result](f)
}

// ParseOverrideConfig sets a global parser and a rule parser that starts
// from the parsed global configuration.
func ParseOverrideConfig[C any](global ParseConfigFunc[C], rule ParseRuleConfigFunc[C]) CtxOption[C] {
	return sdkwrapper.ParseOverrideConfig[C, gjson.Result](global, rule)
}

// ParseOverrideRawConfig is ParseOverrideConfig on raw bytes.
func ParseOverrideRawConfig[C any](global ParseRawConfigFunc[C], rule ParseRawRuleConfigFunc[C]) CtxOption[C] {
	return sdkwrapper.ParseOverrideRawConfig[C](global, rule)
}

// ParseOverrideConfigBy is the deprecated form of ParseOverrideConfig whose
// parsers take a logger.
func ParseOverrideConfigBy[C any](global func(json gjson.Result, config *C, log sdklog.Log) error,
	rule func(json gjson.Result, global C, config *C, log sdklog.Log) error) CtxOption[C] {
	return sdkwrapper.ParseOverrideConfigBy[C, gjson.Result](global, rule)
}

// GetValueFromBody returns the value at the first of paths that exists in
// the JSON document data, or nil.
func GetValueFromBody(data []byte, paths []string) *gjson.Result {
	return bodyjson.GetValueFromBody(data, paths)
}

// ResponseCallback receives the response of an HTTP call.
type ResponseCallback func(statusCode int, responseHeaders http.Header, responseBody []byte)

func httpCB(cb ResponseCallback) sdkwrapper.ResponseCallback {
	if cb == nil {
		return nil
	}
	return func(statusCode int, responseHeaders http.Header, responseBody []byte) {
		cb(statusCode, responseHeaders, responseBody)
	}
}

// HttpClient makes HTTP calls to one cluster.
type HttpClient interface {
	Get(rawURL string, headers [][2]string, cb ResponseCallback, timeoutMillisecond ...uint32) error
	Head(rawURL string, headers [][2]string, cb ResponseCallback, timeoutMillisecond ...uint32) error
	Options(rawURL string, headers [][2]string, cb ResponseCallback, timeoutMillisecond ...uint32) error
	Post(rawURL string, headers [][2]string, body []byte, cb ResponseCallback, timeoutMillisecond ...uint32) error
	Put(rawURL string, headers [][2]string, body []byte, cb ResponseCallback, timeoutMillisecond ...uint32) error
	Patch(rawURL string, headers [][2]string, body []byte, cb ResponseCallback, timeoutMillisecond ...uint32) error
	Delete(rawURL string, headers [][2]string, body []byte, cb ResponseCallback, timeoutMillisecond ...uint32) error
	Connect(rawURL string, headers [][2]string, body []byte, cb ResponseCallback, timeoutMillisecond ...uint32) error
	Trace(rawURL string, headers [][2]string, body []byte, cb ResponseCallback, timeoutMillisecond ...uint32) error
	Call(method, rawURL string, headers [][2]string, body []byte, cb ResponseCallback, timeoutMillisecond ...uint32) error
	ClusterName() string
}

// ClusterClient is the HttpClient of one cluster.
type ClusterClient[C Cluster] struct {
	cluster C
}

// NewClusterClient returns the HttpClient of cluster.
func NewClusterClient[C Cluster](cluster C) *ClusterClient[C] {
	return &ClusterClient[C]{cluster: cluster}
}

func (c ClusterClient[C]) Get(rawURL string, headers [][2]string, cb ResponseCallback, timeoutMillisecond ...uint32) error {
	return HttpCall(c.cluster, http.MethodGet, rawURL, headers, nil, cb, timeoutMillisecond...)
}

func (c ClusterClient[C]) Head(rawURL string, headers [][2]string, cb ResponseCallback, timeoutMillisecond ...uint32) error {
	return HttpCall(c.cluster, http.MethodHead, rawURL, headers, nil, cb, timeoutMillisecond...)
}

func (c ClusterClient[C]) Options(rawURL string, headers [][2]string, cb ResponseCallback, timeoutMillisecond ...uint32) error {
	return HttpCall(c.cluster, http.MethodOptions, rawURL, headers, nil, cb, timeoutMillisecond...)
}

func (c ClusterClient[C]) Post(rawURL string, headers [][2]string, body []byte, cb ResponseCallback, timeoutMillisecond ...uint32) error {
	return HttpCall(c.cluster, http.MethodPost, rawURL, headers, body, cb, timeoutMillisecond...)
}

func (c ClusterClient[C]) Put(rawURL string, headers [][2]string, body []byte, cb ResponseCallback, timeoutMillisecond ...uint32) error {
	return HttpCall(c.cluster, http.MethodPut, rawURL, headers, body, cb, timeoutMillisecond...)
}

func (c ClusterClient[C]) Patch(rawURL string, headers [][2]string, body []byte, cb ResponseCallback, timeoutMillisecond ...uint32) error {
	return HttpCall(c.cluster, http.MethodPatch, rawURL, headers, body, cb, timeoutMillisecond...)
}

func (c ClusterClient[C]) Delete(rawURL string, headers [][2]string, body []byte, cb ResponseCallback, timeoutMillisecond ...uint32) error {
	return HttpCall(c.cluster, http.MethodDelete, rawURL, headers, body, cb, timeoutMillisecond...)
}

func (c ClusterClient[C]) Connect(rawURL string, headers [][2]string, body []byte, cb ResponseCallback, timeoutMillisecond ...uint32) error {
	return HttpCall(c.cluster, http.MethodConnect, rawURL, headers, body, cb, timeoutMillisecond...)
}

func (c ClusterClient[C]) Trace(rawURL string, headers [][2]string, body []byte, cb ResponseCallback, timeoutMillisecond ...uint32) error {
	return HttpCall(c.cluster, http.MethodTrace, rawURL, headers, body, cb, timeoutMillisecond...)
}

func (c ClusterClient[C]) Call(method, rawURL string, headers [][2]string, body []byte, cb ResponseCallback, timeoutMillisecond ...uint32) error {
	return HttpCall(c.cluster, method, rawURL, headers, body, cb, timeoutMillisecond...)
}

func (c ClusterClient[C]) ClusterName() string { return c.cluster.ClusterName() }

// HttpCall calls cluster (see the SDK's HttpCall; the default timeout is
// 500 ms).
func HttpCall(cluster Cluster, method, rawURL string, headers [][2]string, body []byte,
	callback ResponseCallback, timeoutMillisecond ...uint32) error {
	return sdkwrapper.HttpCall(cluster, method, rawURL, headers, body, httpCB(callback), timeoutMillisecond...)
}

// WithBufferFlushTimeout sets how long the host buffers Redis commands.
func WithBufferFlushTimeout(timeout time.Duration) sdkwrapper.RedisOption {
	return sdkwrapper.WithBufferFlushTimeout(timeout)
}

// RedisResponseCallback receives a Redis reply.
type RedisResponseCallback func(response resp.Value)

func redisCB(cb RedisResponseCallback) sdkwrapper.RedisResponseCallback {
	if cb == nil {
		return nil
	}
	return (func(resp.Value))(cb)
}

// RedisCall sends a RESP-encoded query to cluster.
func RedisCall(cluster Cluster, respQuery []byte, callback RedisResponseCallback) error {
	return sdkwrapper.RedisCall(cluster, respQuery, redisCB(callback))
}

// RedisClient runs Redis commands on one cluster.
type RedisClient interface {
	Init(username, password string, timeout int64, opts ...sdkwrapper.RedisOption) error
	Ready() bool
	Command(cmds []interface{}, callback RedisResponseCallback) error
	Eval(script string, numkeys int, keys, args []interface{}, callback RedisResponseCallback) error
	Del(key string, callback RedisResponseCallback) error
	Exists(key string, callback RedisResponseCallback) error
	Expire(key string, ttl int, callback RedisResponseCallback) error
	Persist(key string, callback RedisResponseCallback) error
	Get(key string, callback RedisResponseCallback) error
	Set(key string, value interface{}, callback RedisResponseCallback) error
	SetEx(key string, value interface{}, ttl int, callback RedisResponseCallback) error
	SetNX(key string, value interface{}, ttl int, callback RedisResponseCallback) error
	MGet(keys []string, callback RedisResponseCallback) error
	MSet(kvMap map[string]interface{}, callback RedisResponseCallback) error
	Incr(key string, callback RedisResponseCallback) error
	Decr(key string, callback RedisResponseCallback) error
	IncrBy(key string, delta int, callback RedisResponseCallback) error
	DecrBy(key string, delta int, callback RedisResponseCallback) error
	LLen(key string, callback RedisResponseCallback) error
	RPush(key string, vals []interface{}, callback RedisResponseCallback) error
	RPop(key string, callback RedisResponseCallback) error
	LPush(key string, vals []interface{}, callback RedisResponseCallback) error
	LPop(key string, callback RedisResponseCallback) error
	LIndex(key string, index int, callback RedisResponseCallback) error
	LRange(key string, start, stop int, callback RedisResponseCallback) error
	LRem(key string, count int, value interface{}, callback RedisResponseCallback) error
	LInsertBefore(key string, pivot, value interface{}, callback RedisResponseCallback) error
	LInsertAfter(key string, pivot, value interface{}, callback RedisResponseCallback) error
	HExists(key, field string, callback RedisResponseCallback) error
	HDel(key string, fields []string, callback RedisResponseCallback) error
	HLen(key string, callback RedisResponseCallback) error
	HGet(key, field string, callback RedisResponseCallback) error
	HSet(key, field string, value interface{}, callback RedisResponseCallback) error
	HMGet(key string, fields []string, callback RedisResponseCallback) error
	HMSet(key string, kvMap map[string]interface{}, callback RedisResponseCallback) error
	HKeys(key string, callback RedisResponseCallback) error
	HVals(key string, callback RedisResponseCallback) error
	HGetAll(key string, callback RedisResponseCallback) error
	HIncrBy(key, field string, delta int, callback RedisResponseCallback) error
	HIncrByFloat(key, field string, delta float64, callback RedisResponseCallback) error
	SCard(key string, callback RedisResponseCallback) error
	SAdd(key string, vals []interface{}, callback RedisResponseCallback) error
	SRem(key string, vals []interface{}, callback RedisResponseCallback) error
	SIsMember(key string, value interface{}, callback RedisResponseCallback) error
	SMembers(key string, callback RedisResponseCallback) error
	SDiff(key1, key2 string, callback RedisResponseCallback) error
	SDiffStore(destination, key1, key2 string, callback RedisResponseCallback) error
	SInter(key1, key2 string, callback RedisResponseCallback) error
	SInterStore(destination, key1, key2 string, callback RedisResponseCallback) error
	SUnion(key1, key2 string, callback RedisResponseCallback) error
	SUnionStore(destination, key1, key2 string, callback RedisResponseCallback) error
	ZCard(key string, callback RedisResponseCallback) error
	ZAdd(key string, msMap map[string]interface{}, callback RedisResponseCallback) error
	ZCount(key string, min interface{}, max interface{}, callback RedisResponseCallback) error
	ZIncrBy(key string, member string, delta interface{}, callback RedisResponseCallback) error
	ZScore(key string, member string, callback RedisResponseCallback) error
	ZRank(key string, member string, callback RedisResponseCallback) error
	ZRevRank(key string, member string, callback RedisResponseCallback) error
	ZRem(key string, members []string, callback RedisResponseCallback) error
	ZRange(key string, start, stop int, callback RedisResponseCallback) error
	ZRevRange(key string, start, stop int, callback RedisResponseCallback) error
}

// RedisClusterClient is the RedisClient of one cluster.
type RedisClusterClient[C Cluster] struct {
	c *sdkwrapper.RedisClusterClient[C]
}

// NewRedisClusterClient returns the RedisClient of cluster.
func NewRedisClusterClient[C Cluster](cluster C) *RedisClusterClient[C] {
	return &RedisClusterClient[C]{c: sdkwrapper.NewRedisClusterClient(cluster)}
}

func (c *RedisClusterClient[C]) Init(username, password string, timeout int64, opts ...sdkwrapper.RedisOption) error {
	return c.c.Init(username, password, timeout, opts...)
}

func (c *RedisClusterClient[C]) Ready() bool { return c.c.Ready() }

func (c *RedisClusterClient[C]) Command(cmds []interface{}, callback RedisResponseCallback) error {
	return c.c.Command(cmds, redisCB(callback))
}

func (c *RedisClusterClient[C]) Eval(script string, numkeys int, keys, args []interface{}, callback RedisResponseCallback) error {
	return c.c.Eval(script, numkeys, keys, args, redisCB(callback))
}

func (c *RedisClusterClient[C]) Del(key string, callback RedisResponseCallback) error {
	return c.c.Del(key, redisCB(callback))
}

func (c *RedisClusterClient[C]) Exists(key string, callback RedisResponseCallback) error {
	return c.c.Exists(key, redisCB(callback))
}

func (c *RedisClusterClient[C]) Expire(key string, ttl int, callback RedisResponseCallback) error {
	return c.c.Expire(key, ttl, redisCB(callback))
}

func (c *RedisClusterClient[C]) Persist(key string, callback RedisResponseCallback) error {
	return c.c.Persist(key, redisCB(callback))
}

func (c *RedisClusterClient[C]) Get(key string, callback RedisResponseCallback) error {
	return c.c.Get(key, redisCB(callback))
}

func (c *RedisClusterClient[C]) Set(key string, value interface{}, callback RedisResponseCallback) error {
	return c.c.Set(key, value, redisCB(callback))
}

func (c *RedisClusterClient[C]) SetEx(key string, value interface{}, ttl int, callback RedisResponseCallback) error {
	return c.c.SetEx(key, value, ttl, redisCB(callback))
}

func (c *RedisClusterClient[C]) SetNX(key string, value interface{}, ttl int, callback RedisResponseCallback) error {
	return c.c.SetNX(key, value, ttl, redisCB(callback))
}

func (c *RedisClusterClient[C]) MGet(keys []string, callback RedisResponseCallback) error {
	return c.c.MGet(keys, redisCB(callback))
}

func (c *RedisClusterClient[C]) MSet(kvMap map[string]interface{}, callback RedisResponseCallback) error {
	return c.c.MSet(kvMap, redisCB(callback))
}

func (c *RedisClusterClient[C]) Incr(key string, callback RedisResponseCallback) error {
	return c.c.Incr(key, redisCB(callback))
}

func (c *RedisClusterClient[C]) Decr(key string, callback RedisResponseCallback) error {
	return c.c.Decr(key, redisCB(callback))
}

func (c *RedisClusterClient[C]) IncrBy(key string, delta int, callback RedisResponseCallback) error {
	return c.c.IncrBy(key, delta, redisCB(callback))
}

func (c *RedisClusterClient[C]) DecrBy(key string, delta int, callback RedisResponseCallback) error {
	return c.c.DecrBy(key, delta, redisCB(callback))
}

func (c *RedisClusterClient[C]) LLen(key string, callback RedisResponseCallback) error {
	return c.c.LLen(key, redisCB(callback))
}

func (c *RedisClusterClient[C]) RPush(key string, vals []interface{}, callback RedisResponseCallback) error {
	return c.c.RPush(key, vals, redisCB(callback))
}

func (c *RedisClusterClient[C]) RPop(key string, callback RedisResponseCallback) error {
	return c.c.RPop(key, redisCB(callback))
}

func (c *RedisClusterClient[C]) LPush(key string, vals []interface{}, callback RedisResponseCallback) error {
	return c.c.LPush(key, vals, redisCB(callback))
}

func (c *RedisClusterClient[C]) LPop(key string, callback RedisResponseCallback) error {
	return c.c.LPop(key, redisCB(callback))
}

func (c *RedisClusterClient[C]) LIndex(key string, index int, callback RedisResponseCallback) error {
	return c.c.LIndex(key, index, redisCB(callback))
}

func (c *RedisClusterClient[C]) LRange(key string, start, stop int, callback RedisResponseCallback) error {
	return c.c.LRange(key, start, stop, redisCB(callback))
}

func (c *RedisClusterClient[C]) LRem(key string, count int, value interface{}, callback RedisResponseCallback) error {
	return c.c.LRem(key, count, value, redisCB(callback))
}

func (c *RedisClusterClient[C]) LInsertBefore(key string, pivot, value interface{}, callback RedisResponseCallback) error {
	return c.c.LInsertBefore(key, pivot, value, redisCB(callback))
}

func (c *RedisClusterClient[C]) LInsertAfter(key string, pivot, value interface{}, callback RedisResponseCallback) error {
	return c.c.LInsertAfter(key, pivot, value, redisCB(callback))
}

func (c *RedisClusterClient[C]) HExists(key, field string, callback RedisResponseCallback) error {
	return c.c.HExists(key, field, redisCB(callback))
}

func (c *RedisClusterClient[C]) HDel(key string, fields []string, callback RedisResponseCallback) error {
	return c.c.HDel(key, fields, redisCB(callback))
}

func (c *RedisClusterClient[C]) HLen(key string, callback RedisResponseCallback) error {
	return c.c.HLen(key, redisCB(callback))
}

func (c *RedisClusterClient[C]) HGet(key, field string, callback RedisResponseCallback) error {
	return c.c.HGet(key, field, redisCB(callback))
}

func (c *RedisClusterClient[C]) HSet(key, field string, value interface{}, callback RedisResponseCallback) error {
	return c.c.HSet(key, field, value, redisCB(callback))
}

func (c *RedisClusterClient[C]) HMGet(key string, fields []string, callback RedisResponseCallback) error {
	return c.c.HMGet(key, fields, redisCB(callback))
}

func (c *RedisClusterClient[C]) HMSet(key string, kvMap map[string]interface{}, callback RedisResponseCallback) error {
	return c.c.HMSet(key, kvMap, redisCB(callback))
}

func (c *RedisClusterClient[C]) HKeys(key string, callback RedisResponseCallback) error {
	return c.c.HKeys(key, redisCB(callback))
}

func (c *RedisClusterClient[C]) HVals(key string, callback RedisResponseCallback) error {
	return c.c.HVals(key, redisCB(callback))
}

func (c *RedisClusterClient[C]) HGetAll(key string, callback RedisResponseCallback) error {
	return c.c.HGetAll(key, redisCB(callback))
}

func (c *RedisClusterClient[C]) HIncrBy(key, field string, delta int, callback RedisResponseCallback) error {
	return c.c.HIncrBy(key, field, delta, redisCB(callback))
}

func (c *RedisClusterClient[C]) HIncrByFloat(key, field string, delta float64, callback RedisResponseCallback) error {
	return c.c.HIncrByFloat(key, field, delta, redisCB(callback))
}

func (c *RedisClusterClient[C]) SCard(key string, callback RedisResponseCallback) error {
	return c.c.SCard(key, redisCB(callback))
}

func (c *RedisClusterClient[C]) SAdd(key string, vals []interface{}, callback RedisResponseCallback) error {
	return c.c.SAdd(key, vals, redisCB(callback))
}

func (c *RedisClusterClient[C]) SRem(key string, vals []interface{}, callback RedisResponseCallback) error {
	return c.c.SRem(key, vals, redisCB(callback))
}

func (c *RedisClusterClient[C]) SIsMember(key string, value interface{}, callback RedisResponseCallback) error {
	return c.c.SIsMember(key, value, redisCB(callback))
}

func (c *RedisClusterClient[C]) SMembers(key string, callback RedisResponseCallback) error {
	return c.c.SMembers(key, redisCB(callback))
}

func (c *RedisClusterClient[C]) SDiff(key1, key2 string, callback RedisResponseCallback) error {
	return c.c.SDiff(key1, key2, redisCB(callback))
}

func (c *RedisClusterClient[C]) SDiffStore(destination, key1, key2 string, callback RedisResponseCallback) error {
	return c.c.SDiffStore(destination, key1, key2, redisCB(callback))
}

func (c *RedisClusterClient[C]) SInter(key1, key2 string, callback RedisResponseCallback) error {
	return c.c.SInter(key1, key2, redisCB(callback))
}

func (c *RedisClusterClient[C]) SInterStore(destination, key1, key2 string, callback RedisResponseCallback) error {
	return c.c.SInterStore(destination, key1, key2, redisCB(callback))
}

func (c *RedisClusterClient[C]) SUnion(key1, key2 string, callback RedisResponseCallback) error {
	return c.c.SUnion(key1, key2, redisCB(callback))
}

func (c *RedisClusterClient[C]) SUnionStore(destination, key1, key2 string, callback RedisResponseCallback) error {
	return c.c.SUnionStore(destination, key1, key2, redisCB(callback))
}

func (c *RedisClusterClient[C]) ZCard(key string, callback RedisResponseCallback) error {
	return c.c.ZCard(key, redisCB(callback))
}

func (c *RedisClusterClient[C]) ZAdd(key string, msMap map[string]interface{}, callback RedisResponseCallback) error {
	return c.c.ZAdd(key, msMap, redisCB(callback))
}

func (c *RedisClusterClient[C]) ZCount(key string, min interface{}, max interface{}, callback RedisResponseCallback) error {
	return c.c.ZCount(key, min, max, redisCB(callback))
}

func (c *RedisClusterClient[C]) ZIncrBy(key string, member string, delta interface{}, callback RedisResponseCallback) error {
	return c.c.ZIncrBy(key, member, delta, redisCB(callback))
}

func (c *RedisClusterClient[C]) ZScore(key string, member string, callback RedisResponseCallback) error {
	return c.c.ZScore(key, member, redisCB(callback))
}

func (c *RedisClusterClient[C]) ZRank(key string, member string, callback RedisResponseCallback) error {
	return c.c.ZRank(key, member, redisCB(callback))
}

func (c *RedisClusterClient[C]) ZRevRank(key string, member string, callback RedisResponseCallback) error {
	return c.c.ZRevRank(key, member, redisCB(callback))
}

func (c *RedisClusterClient[C]) ZRem(key string, members []string, callback RedisResponseCallback) error {
	return c.c.ZRem(key, members, redisCB(callback))
}

func (c *RedisClusterClient[C]) ZRange(key string, start, stop int, callback RedisResponseCallback) error {
	return c.c.ZRange(key, start, stop, redisCB(callback))
}

func (c *RedisClusterClient[C]) ZRevRange(key string, start, stop int, callback RedisResponseCallback) error {
	return c.c.ZRevRange(key, start, stop, redisCB(callback))
}

var _ RedisClient = (*RedisClusterClient[Cluster])(nil)
var _ HttpClient = ClusterClient[Cluster]{}
