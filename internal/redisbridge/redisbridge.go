// Package redisbridge carries out the Higress Redis extension calls
// (proxy_redis_init, proxy_redis_call) over real RESP connections, pooled per
// cluster and credentials. The embedder says how to reach each cluster.
package redisbridge

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wasmgate/wasmgate/host"
	"github.com/wasmgate/wasmgate/sdk/resp"
)

// DialFunc opens a connection to one of a cluster's endpoints.
type DialFunc func(ctx context.Context) (net.Conn, error)

// Resolver returns how to reach a cluster, or nil for an unknown cluster.
type Resolver func(cluster string) DialFunc

// Caller implements host.RedisCaller.
type Caller struct {
	resolve Resolver

	mu       sync.Mutex
	settings map[string]redisSettings // by cluster name, from the latest init
	pools    map[redisSettings]*redisPool
}

type redisSettings struct {
	cluster  string
	username string
	password string
	db       int
	timeout  time.Duration
}

type redisPool struct {
	mu   sync.Mutex
	idle []*redisConn
}

type redisConn struct {
	conn net.Conn
	rd   *resp.Reader
}

const (
	maxIdleRedisConns   = 16
	defaultRedisTimeout = time.Second
)

// New returns a Caller that reaches clusters through resolve.
func New(resolve Resolver) *Caller {
	return &Caller{resolve: resolve, settings: map[string]redisSettings{}, pools: map[redisSettings]*redisPool{}}
}

// RedisInit records the credentials and database of a cluster. The cluster
// string may carry parameters: "outbound|6379||redis.dns?db=1&…".
func (c *Caller) RedisInit(cluster, username, password string, timeout time.Duration) error {
	return c.redisInit(c.resolve, cluster, username, password, timeout)
}

// View is a host.RedisCaller sharing c's settings and connection pools that
// finds clusters with its own resolver (a plugin started for a configuration
// not yet serving reaches that configuration's clusters).
type View struct {
	c       *Caller
	resolve Resolver
}

// View returns a caller that resolves clusters with resolve.
func (c *Caller) View(resolve Resolver) *View { return &View{c: c, resolve: resolve} }

// RedisInit implements host.RedisCaller.
func (v *View) RedisInit(cluster, username, password string, timeout time.Duration) error {
	return v.c.redisInit(v.resolve, cluster, username, password, timeout)
}

// RedisCall implements host.RedisCaller.
func (v *View) RedisCall(cluster string, query []byte, done func(reply []byte, err error)) error {
	return v.c.redisCall(v.resolve, cluster, query, done)
}

func (c *Caller) redisInit(resolve Resolver, cluster, username, password string, timeout time.Duration) error {
	name, query, _ := strings.Cut(cluster, "?")
	if resolve(name) == nil {
		return host.ErrUnknownCluster
	}
	s := redisSettings{cluster: name, username: username, password: password, timeout: timeout}
	if s.timeout <= 0 {
		s.timeout = defaultRedisTimeout
	}
	if query != "" {
		params, err := url.ParseQuery(query)
		if err != nil {
			return fmt.Errorf("redis init %s: parameters: %w", name, err)
		}
		if v := params.Get("db"); v != "" {
			db, err := strconv.Atoi(v)
			if err != nil || db < 0 {
				return fmt.Errorf("redis init %s: db %q is not a database number", name, v)
			}
			s.db = db
		}
	}
	c.mu.Lock()
	c.settings[name] = s
	c.mu.Unlock()
	return nil
}

// RedisCall sends one RESP-encoded command and delivers the RESP reply.
func (c *Caller) RedisCall(cluster string, query []byte, done func(reply []byte, err error)) error {
	return c.redisCall(c.resolve, cluster, query, done)
}

func (c *Caller) redisCall(resolve Resolver, cluster string, query []byte, done func(reply []byte, err error)) error {
	dial := resolve(cluster)
	if dial == nil {
		return host.ErrUnknownCluster
	}
	c.mu.Lock()
	s, ok := c.settings[cluster]
	if !ok {
		s = redisSettings{cluster: cluster, timeout: defaultRedisTimeout}
	}
	pool := c.pools[s]
	if pool == nil {
		pool = &redisPool{}
		c.pools[s] = pool
	}
	c.mu.Unlock()
	go func() {
		reply, err := c.do(dial, s, pool, query)
		done(reply, err)
	}()
	return nil
}

func (c *Caller) do(dial DialFunc, s redisSettings, pool *redisPool, query []byte) ([]byte, error) {
	conn, err := c.get(dial, s, pool)
	if err != nil {
		return nil, err
	}
	v, err := conn.roundTrip(query, s.timeout)
	if err != nil {
		conn.conn.Close()
		return nil, err
	}
	c.put(pool, conn)
	return v.MarshalRESP()
}

func (c *Caller) get(dial DialFunc, s redisSettings, pool *redisPool) (*redisConn, error) {
	pool.mu.Lock()
	if n := len(pool.idle); n > 0 {
		conn := pool.idle[n-1]
		pool.idle = pool.idle[:n-1]
		pool.mu.Unlock()
		return conn, nil
	}
	pool.mu.Unlock()
	ctx, cancel := contextWithTimeout(s.timeout)
	defer cancel()
	nc, err := dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("redis %s: connect: %w", s.cluster, err)
	}
	conn := &redisConn{conn: nc, rd: resp.NewReader(bufio.NewReader(nc))}
	if s.password != "" {
		args := []string{"AUTH", s.password}
		if s.username != "" {
			args = []string{"AUTH", s.username, s.password}
		}
		if err := conn.expectOK(resp.Command(args...), s.timeout); err != nil {
			nc.Close()
			return nil, fmt.Errorf("redis %s: auth: %w", s.cluster, err)
		}
	}
	if s.db != 0 {
		if err := conn.expectOK(resp.Command("SELECT", strconv.Itoa(s.db)), s.timeout); err != nil {
			nc.Close()
			return nil, fmt.Errorf("redis %s: select %d: %w", s.cluster, s.db, err)
		}
	}
	return conn, nil
}

func (c *Caller) put(pool *redisPool, conn *redisConn) {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	if len(pool.idle) >= maxIdleRedisConns {
		conn.conn.Close()
		return
	}
	pool.idle = append(pool.idle, conn)
}

// Close closes the idle connections; later calls open new ones.
func (c *Caller) Close() {
	c.mu.Lock()
	pools := c.pools
	c.pools = map[redisSettings]*redisPool{}
	c.mu.Unlock()
	for _, p := range pools {
		p.mu.Lock()
		for _, conn := range p.idle {
			conn.conn.Close()
		}
		p.idle = nil
		p.mu.Unlock()
	}
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

func (rc *redisConn) roundTrip(query []byte, timeout time.Duration) (resp.Value, error) {
	if err := rc.conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return resp.Value{}, err
	}
	if _, err := rc.conn.Write(query); err != nil {
		return resp.Value{}, err
	}
	v, _, err := rc.rd.ReadValue()
	if err != nil {
		return resp.Value{}, err
	}
	return v, nil
}

func (rc *redisConn) expectOK(cmd []byte, timeout time.Duration) error {
	v, err := rc.roundTrip(cmd, timeout)
	if err != nil {
		return err
	}
	if e := v.Error(); e != nil {
		return errors.New(e.Error())
	}
	return nil
}
