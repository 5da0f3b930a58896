package wrapper

import (
	"errors"
	"sort"
	"strconv"
	"strings"

	"github.com/wasmgate/wasmgate/sdk/log"
	"github.com/wasmgate/wasmgate/sdk/proxywasm"
	"github.com/wasmgate/wasmgate/sdk/resp"
)

// RedisResponseCallback receives a Redis reply. It is a function
//
//	func(response resp.Value)
//
// or, as older Higress plugins write it, func(status int, response resp.Value).
// A failed call (cluster unreachable, timeout) delivers an error value (and a
// non-zero status to the older form). Any other type makes the call return an error.
type RedisResponseCallback = any

// RedisClient runs Redis commands on one cluster through the host.
type RedisClient interface {
	// Init connects the cluster; call it in the config parser. A failed init
	// is logged and retried on the next command.
	Init(username, password string, timeout int64, opts ...RedisOption) error
	Ready() bool
	Command(cmds []interface{}, callback RedisResponseCallback) error
	Eval(script string, numkeys int, keys, args []interface{}, callback RedisResponseCallback) error

	// keys
	Del(key string, callback RedisResponseCallback) error
	Exists(key string, callback RedisResponseCallback) error
	Expire(key string, ttl int, callback RedisResponseCallback) error
	Persist(key string, callback RedisResponseCallback) error

	// strings
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

	// lists
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

	// hashes
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

	// sets
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

	// sorted sets
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

type redisOption struct {
	dataBase                 int
	bufferFlushTimeoutNanos  int64
	maxBufferSizeBeforeFlush int
}

// RedisOption is an option of RedisClient.Init (Higress calls the type
// optionFunc and does not export it).
type RedisOption func(*redisOption)

// WithDataBase selects the Redis database.
func WithDataBase(dataBase int) RedisOption {
	return func(o *redisOption) { o.dataBase = dataBase }
}

// WithBufferFlushTimeout sets how long the host may hold commands before
// flushing (default 3 ms). Pass a time.Duration; the parameter is generic so
// that the SDK does not link package time into every plugin.
func WithBufferFlushTimeout[D ~int64](timeout D) RedisOption {
	return func(o *redisOption) { o.bufferFlushTimeoutNanos = int64(timeout) }
}

// WithMaxBufferSizeBeforeFlush sets how many bytes the host may hold before flushing (default 1024).
func WithMaxBufferSizeBeforeFlush(size int) RedisOption {
	return func(o *redisOption) { o.maxBufferSizeBeforeFlush = size }
}

// WithDisableBuffer makes the host send every command at once.
func WithDisableBuffer() RedisOption {
	return func(o *redisOption) {
		o.bufferFlushTimeoutNanos = 0
		o.maxBufferSizeBeforeFlush = 0
	}
}

// RedisClusterClient is the RedisClient of one cluster.
type RedisClusterClient[C Cluster] struct {
	cluster   C
	ready     bool
	initiated bool
	username  string
	password  string
	timeout   int64
	option    redisOption
}

// NewRedisClusterClient returns a RedisClient for cluster; call Init before use.
func NewRedisClusterClient[C Cluster](cluster C) *RedisClusterClient[C] {
	return &RedisClusterClient[C]{cluster: cluster}
}

var errRedisNotReady = errors.New("redis client is not ready, please call Init() first")

// Init connects the cluster with the given credentials and timeout (ms).
func (c *RedisClusterClient[C]) Init(username, password string, timeout int64, opts ...RedisOption) error {
	c.option = redisOption{bufferFlushTimeoutNanos: 3e6, maxBufferSizeBeforeFlush: 1024}
	for _, o := range opts {
		o(&c.option)
	}
	c.username, c.password, c.timeout, c.initiated = username, password, timeout, true
	c.connect()
	return nil
}

// initClusterName is the cluster name with the connection parameters the host reads.
func (c *RedisClusterClient[C]) initClusterName() string {
	var params []string
	if c.option.dataBase != 0 {
		params = append(params, "db="+strconv.Itoa(c.option.dataBase))
	}
	params = append(params, "buffer_flush_timeout="+strconv.FormatInt(c.option.bufferFlushTimeoutNanos/1e6, 10),
		"max_buffer_size_before_flush="+strconv.Itoa(c.option.maxBufferSizeBeforeFlush))
	return c.cluster.ClusterName() + "?" + strings.Join(params, "&")
}

func (c *RedisClusterClient[C]) connect() {
	err := proxywasm.RedisInit(c.initClusterName(), c.username, c.password, uint32(c.timeout))
	if err != nil {
		log.Warn("failed to init redis: " + err.Error() + ", will retry later")
		c.ready = false
		return
	}
	c.ready = true
}

// Ready reports whether the last Init succeeded.
func (c *RedisClusterClient[C]) Ready() bool { return c.ready }

func (c *RedisClusterClient[C]) checkReady() error {
	if !c.initiated {
		return errRedisNotReady
	}
	if !c.ready {
		c.connect()
		if !c.ready {
			return errors.New("redis init of " + c.cluster.ClusterName() + " failed")
		}
	}
	return nil
}

// redisCaller checks the callback's type and returns a function delivering a reply.
func redisCaller(cb RedisResponseCallback) (func(status int, v resp.Value), error) {
	switch f := cb.(type) {
	case func(resp.Value):
		return func(_ int, v resp.Value) { f(v) }, nil
	case func(int, resp.Value):
		return f, nil
	}
	return nil, errors.New("redis call: the callback must be func(response resp.Value)")
}

// call sends one command: lower-case name, arguments as bulk strings.
func (c *RedisClusterClient[C]) call(cb RedisResponseCallback, args ...interface{}) error {
	deliver, err := redisCaller(cb)
	if err != nil {
		return err
	}
	if err := c.checkReady(); err != nil {
		return err
	}
	strs := make([]string, len(args))
	for i, a := range args {
		strs[i] = resp.FormatArg(a)
	}
	return c.send(resp.Command(strs...), deliver, true)
}

func (c *RedisClusterClient[C]) send(query []byte, deliver func(int, resp.Value), retryAuth bool) error {
	name := c.cluster.ClusterName()
	_, err := proxywasm.DispatchRedisCall(name, query, func(status int, responseSize int) {
		var v resp.Value
		switch {
		case status != 0:
			log.Critical("redis call to " + name + " failed, status " + strconv.Itoa(status))
			v = resp.ErrorValue(errors.New("cannot connect to redis cluster"))
		default:
			data, err := proxywasm.GetRedisCallResponse(0, responseSize)
			if err != nil {
				log.Error("read redis response: " + err.Error())
				v = resp.ErrorValue(errors.New("cannot get redis response"))
				break
			}
			parsed, _, err := resp.Parse(data)
			if err != nil {
				log.Error("parse redis response: " + err.Error())
				v = resp.ErrorValue(errors.New("cannot read redis response"))
				break
			}
			v = parsed
		}
		if e := v.Error(); retryAuth && e != nil && strings.Contains(e.Error(), "NOAUTH Authentication required") {
			c.ready = false
			if c.checkReady() == nil && c.send(query, deliver, false) == nil {
				return
			}
		}
		runGuarded(pluginLogger(), "redis callback", func() { deliver(status, v) })
	})
	if err != nil {
		return errors.New("redis call to " + name + ": " + err.Error())
	}
	return nil
}

func (c *RedisClusterClient[C]) Command(cmds []interface{}, callback RedisResponseCallback) error {
	return c.call(callback, cmds...)
}

func (c *RedisClusterClient[C]) Eval(script string, numkeys int, keys, args []interface{}, callback RedisResponseCallback) error {
	all := append([]interface{}{"eval", script, numkeys}, keys...)
	return c.call(callback, append(all, args...)...)
}

func (c *RedisClusterClient[C]) Del(key string, cb RedisResponseCallback) error {
	return c.call(cb, "del", key)
}

func (c *RedisClusterClient[C]) Exists(key string, cb RedisResponseCallback) error {
	return c.call(cb, "exists", key)
}

func (c *RedisClusterClient[C]) Expire(key string, ttl int, cb RedisResponseCallback) error {
	return c.call(cb, "expire", key, ttl)
}

func (c *RedisClusterClient[C]) Persist(key string, cb RedisResponseCallback) error {
	return c.call(cb, "persist", key)
}

func (c *RedisClusterClient[C]) Get(key string, cb RedisResponseCallback) error {
	return c.call(cb, "get", key)
}

func (c *RedisClusterClient[C]) Set(key string, value interface{}, cb RedisResponseCallback) error {
	return c.call(cb, "set", key, value)
}

func (c *RedisClusterClient[C]) SetEx(key string, value interface{}, ttl int, cb RedisResponseCallback) error {
	return c.call(cb, "setex", key, ttl, value)
}

func (c *RedisClusterClient[C]) SetNX(key string, value interface{}, ttl int, cb RedisResponseCallback) error {
	if ttl > 0 {
		return c.call(cb, "set", key, value, "nx", "ex", ttl)
	}
	return c.call(cb, "set", key, value, "nx")
}

func (c *RedisClusterClient[C]) MGet(keys []string, cb RedisResponseCallback) error {
	return c.call(cb, append([]interface{}{"mget"}, strArgs(keys)...)...)
}

func (c *RedisClusterClient[C]) MSet(kvMap map[string]interface{}, cb RedisResponseCallback) error {
	return c.call(cb, append([]interface{}{"mset"}, kvArgs(kvMap, false)...)...)
}

func (c *RedisClusterClient[C]) Incr(key string, cb RedisResponseCallback) error {
	return c.call(cb, "incr", key)
}

func (c *RedisClusterClient[C]) Decr(key string, cb RedisResponseCallback) error {
	return c.call(cb, "decr", key)
}

func (c *RedisClusterClient[C]) IncrBy(key string, delta int, cb RedisResponseCallback) error {
	return c.call(cb, "incrby", key, delta)
}

func (c *RedisClusterClient[C]) DecrBy(key string, delta int, cb RedisResponseCallback) error {
	return c.call(cb, "decrby", key, delta)
}

func (c *RedisClusterClient[C]) LLen(key string, cb RedisResponseCallback) error {
	return c.call(cb, "llen", key)
}

func (c *RedisClusterClient[C]) RPush(key string, vals []interface{}, cb RedisResponseCallback) error {
	return c.call(cb, append([]interface{}{"rpush", key}, vals...)...)
}

func (c *RedisClusterClient[C]) RPop(key string, cb RedisResponseCallback) error {
	return c.call(cb, "rpop", key)
}

func (c *RedisClusterClient[C]) LPush(key string, vals []interface{}, cb RedisResponseCallback) error {
	return c.call(cb, append([]interface{}{"lpush", key}, vals...)...)
}

func (c *RedisClusterClient[C]) LPop(key string, cb RedisResponseCallback) error {
	return c.call(cb, "lpop", key)
}

func (c *RedisClusterClient[C]) LIndex(key string, index int, cb RedisResponseCallback) error {
	return c.call(cb, "lindex", key, index)
}

func (c *RedisClusterClient[C]) LRange(key string, start, stop int, cb RedisResponseCallback) error {
	return c.call(cb, "lrange", key, start, stop)
}

func (c *RedisClusterClient[C]) LRem(key string, count int, value interface{}, cb RedisResponseCallback) error {
	return c.call(cb, "lrem", key, count, value)
}

func (c *RedisClusterClient[C]) LInsertBefore(key string, pivot, value interface{}, cb RedisResponseCallback) error {
	return c.call(cb, "linsert", key, "before", pivot, value)
}

func (c *RedisClusterClient[C]) LInsertAfter(key string, pivot, value interface{}, cb RedisResponseCallback) error {
	return c.call(cb, "linsert", key, "after", pivot, value)
}

func (c *RedisClusterClient[C]) HExists(key, field string, cb RedisResponseCallback) error {
	return c.call(cb, "hexists", key, field)
}

func (c *RedisClusterClient[C]) HDel(key string, fields []string, cb RedisResponseCallback) error {
	return c.call(cb, append([]interface{}{"hdel", key}, strArgs(fields)...)...)
}

func (c *RedisClusterClient[C]) HLen(key string, cb RedisResponseCallback) error {
	return c.call(cb, "hlen", key)
}

func (c *RedisClusterClient[C]) HGet(key, field string, cb RedisResponseCallback) error {
	return c.call(cb, "hget", key, field)
}

func (c *RedisClusterClient[C]) HSet(key, field string, value interface{}, cb RedisResponseCallback) error {
	return c.call(cb, "hset", key, field, value)
}

func (c *RedisClusterClient[C]) HMGet(key string, fields []string, cb RedisResponseCallback) error {
	return c.call(cb, append([]interface{}{"hmget", key}, strArgs(fields)...)...)
}

func (c *RedisClusterClient[C]) HMSet(key string, kvMap map[string]interface{}, cb RedisResponseCallback) error {
	return c.call(cb, append([]interface{}{"hmset", key}, kvArgs(kvMap, false)...)...)
}

func (c *RedisClusterClient[C]) HKeys(key string, cb RedisResponseCallback) error {
	return c.call(cb, "hkeys", key)
}

func (c *RedisClusterClient[C]) HVals(key string, cb RedisResponseCallback) error {
	return c.call(cb, "hvals", key)
}

func (c *RedisClusterClient[C]) HGetAll(key string, cb RedisResponseCallback) error {
	return c.call(cb, "hgetall", key)
}

func (c *RedisClusterClient[C]) HIncrBy(key, field string, delta int, cb RedisResponseCallback) error {
	return c.call(cb, "hincrby", key, field, delta)
}

func (c *RedisClusterClient[C]) HIncrByFloat(key, field string, delta float64, cb RedisResponseCallback) error {
	return c.call(cb, "hincrbyfloat", key, field, delta)
}

func (c *RedisClusterClient[C]) SCard(key string, cb RedisResponseCallback) error {
	return c.call(cb, "scard", key)
}

func (c *RedisClusterClient[C]) SAdd(key string, vals []interface{}, cb RedisResponseCallback) error {
	return c.call(cb, append([]interface{}{"sadd", key}, vals...)...)
}

func (c *RedisClusterClient[C]) SRem(key string, vals []interface{}, cb RedisResponseCallback) error {
	return c.call(cb, append([]interface{}{"srem", key}, vals...)...)
}

func (c *RedisClusterClient[C]) SIsMember(key string, value interface{}, cb RedisResponseCallback) error {
	return c.call(cb, "sismember", key, value)
}

func (c *RedisClusterClient[C]) SMembers(key string, cb RedisResponseCallback) error {
	return c.call(cb, "smembers", key)
}

func (c *RedisClusterClient[C]) SDiff(key1, key2 string, cb RedisResponseCallback) error {
	return c.call(cb, "sdiff", key1, key2)
}

func (c *RedisClusterClient[C]) SDiffStore(destination, key1, key2 string, cb RedisResponseCallback) error {
	return c.call(cb, "sdiffstore", destination, key1, key2)
}

func (c *RedisClusterClient[C]) SInter(key1, key2 string, cb RedisResponseCallback) error {
	return c.call(cb, "sinter", key1, key2)
}

func (c *RedisClusterClient[C]) SInterStore(destination, key1, key2 string, cb RedisResponseCallback) error {
	return c.call(cb, "sinterstore", destination, key1, key2)
}

func (c *RedisClusterClient[C]) SUnion(key1, key2 string, cb RedisResponseCallback) error {
	return c.call(cb, "sunion", key1, key2)
}

func (c *RedisClusterClient[C]) SUnionStore(destination, key1, key2 string, cb RedisResponseCallback) error {
	return c.call(cb, "sunionstore", destination, key1, key2)
}

func (c *RedisClusterClient[C]) ZCard(key string, cb RedisResponseCallback) error {
	return c.call(cb, "zcard", key)
}

func (c *RedisClusterClient[C]) ZAdd(key string, msMap map[string]interface{}, cb RedisResponseCallback) error {
	return c.call(cb, append([]interface{}{"zadd", key}, kvArgs(msMap, true)...)...)
}

func (c *RedisClusterClient[C]) ZCount(key string, min interface{}, max interface{}, cb RedisResponseCallback) error {
	return c.call(cb, "zcount", key, min, max)
}

func (c *RedisClusterClient[C]) ZIncrBy(key string, member string, delta interface{}, cb RedisResponseCallback) error {
	return c.call(cb, "zincrby", key, delta, member)
}

func (c *RedisClusterClient[C]) ZScore(key string, member string, cb RedisResponseCallback) error {
	return c.call(cb, "zscore", key, member)
}

func (c *RedisClusterClient[C]) ZRank(key string, member string, cb RedisResponseCallback) error {
	return c.call(cb, "zrank", key, member)
}

func (c *RedisClusterClient[C]) ZRevRank(key string, member string, cb RedisResponseCallback) error {
	return c.call(cb, "zrevrank", key, member)
}

func (c *RedisClusterClient[C]) ZRem(key string, members []string, cb RedisResponseCallback) error {
	return c.call(cb, append([]interface{}{"zrem", key}, strArgs(members)...)...)
}

func (c *RedisClusterClient[C]) ZRange(key string, start, stop int, cb RedisResponseCallback) error {
	return c.call(cb, "zrange", key, start, stop)
}

func (c *RedisClusterClient[C]) ZRevRange(key string, start, stop int, cb RedisResponseCallback) error {
	return c.call(cb, "zrevrange", key, start, stop)
}

func strArgs(ss []string) []interface{} {
	out := make([]interface{}, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// kvArgs flattens a map in key order; scoreFirst emits "value key" pairs (ZADD's "score member").
func kvArgs(m map[string]interface{}, scoreFirst bool) []interface{} {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]interface{}, 0, 2*len(keys))
	for _, k := range keys {
		if scoreFirst {
			out = append(out, m[k], k)
		} else {
			out = append(out, k, m[k])
		}
	}
	return out
}

// RedisCall sends a RESP-encoded query to cluster and delivers the reply to callback.
func RedisCall(cluster Cluster, respQuery []byte, callback RedisResponseCallback) error {
	deliver, err := redisCaller(callback)
	if err != nil {
		return err
	}
	c := &RedisClusterClient[Cluster]{cluster: cluster, ready: true, initiated: true}
	return c.send(respQuery, deliver, false)
}
