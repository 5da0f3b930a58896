package test

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/wasmgate/wasmgate/sdk/resp"
)

// CreateRedisResp encodes value as a RESP reply: nil → null, string → bulk
// string, int → integer, bool → integer 0/1, float64 → bulk string,
// []interface{} → array (of those, floats as bulk strings), error → error;
// anything else → its fmt %v as a bulk string.
func CreateRedisResp(value interface{}) []byte {
	var v resp.Value
	switch x := value.(type) {
	case nil:
		v = resp.NullValue()
	case string:
		v = resp.StringValue(x)
	case int:
		v = resp.IntegerValue(x)
	case bool:
		v = resp.IntegerValue(boolInt(x))
	case float64:
		v = resp.StringValue(fmt.Sprintf("%v", x))
	case []interface{}:
		items := make([]resp.Value, 0, len(x))
		for _, it := range x {
			items = append(items, respItem(it))
		}
		v = resp.ArrayValue(items)
	case error:
		v = resp.ErrorValue(x)
	default:
		v = resp.StringValue(fmt.Sprintf("%v", x))
	}
	b, err := v.MarshalRESP()
	if err != nil {
		panic(fmt.Sprintf("test: CreateRedisResp: %v", err))
	}
	return b
}

func respItem(value interface{}) resp.Value {
	switch x := value.(type) {
	case nil:
		return resp.NullValue()
	case string:
		return resp.StringValue(x)
	case int:
		return resp.IntegerValue(x)
	case bool:
		return resp.IntegerValue(boolInt(x))
	case float64:
		return resp.StringValue(strconv.FormatFloat(x, 'f', -1, 64))
	}
	return resp.StringValue(fmt.Sprintf("%v", value))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CreateRedisRespNull is a null reply.
func CreateRedisRespNull() []byte { return CreateRedisResp(nil) }

// CreateRedisRespError is an error reply.
func CreateRedisRespError(message string) []byte { return CreateRedisResp(errors.New(message)) }

// CreateRedisRespArray is an array reply.
func CreateRedisRespArray(values []interface{}) []byte { return CreateRedisResp(values) }

// CreateRedisRespString is a bulk string reply.
func CreateRedisRespString(value string) []byte { return CreateRedisResp(value) }

// CreateRedisRespInt is an integer reply.
func CreateRedisRespInt(value int) []byte { return CreateRedisResp(value) }

// CreateRedisRespBool is an integer reply, 1 or 0.
func CreateRedisRespBool(value bool) []byte { return CreateRedisResp(value) }

// CreateRedisRespFloat is a bulk string reply of the number.
func CreateRedisRespFloat(value float64) []byte { return CreateRedisResp(value) }
