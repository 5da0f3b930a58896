package types

import (
	"errors"
	"testing"
)

func TestStatusToError(t *testing.T) {
	cases := map[Status]error{
		StatusOK:              nil,
		StatusNotFound:        ErrorStatusNotFound,
		StatusBadArgument:     ErrorStatusBadArgument,
		StatusEmpty:           ErrorStatusEmpty,
		StatusCasMismatch:     ErrorStatusCasMismatch,
		StatusInternalFailure: ErrorInternalFailure,
		StatusUnimplemented:   ErrorUnimplemented,
	}
	for s, want := range cases {
		if got := StatusToError(s); !errors.Is(got, want) || (want == nil) != (got == nil) {
			t.Errorf("StatusToError(%d) = %v, want %v", s, got, want)
		}
	}
	if got := StatusToError(42); got == nil || got.Error() != "unknown status code: 42" {
		t.Errorf("StatusToError(42) = %v", got)
	}
}

func TestEnumValues(t *testing.T) {
	// The numbers are the ABI; a change here breaks every module.
	checks := []struct {
		got, want uint32
		name      string
	}{
		{uint32(HeaderStopAllIterationAndWatermark), 4, "HeaderStopAllIterationAndWatermark"},
		{uint32(HeaderContinueAndEndStream), 2, "HeaderContinueAndEndStream"},
		{uint32(DataStopIterationNoBuffer), 3, "DataStopIterationNoBuffer"},
		{uint32(BufferTypeRedisCallResponse), 9, "BufferTypeRedisCallResponse"},
		{uint32(BufferTypeCallData), 8, "BufferTypeCallData"},
		{uint32(MapTypeHttpCallResponseTrailers), 7, "MapTypeHttpCallResponseTrailers"},
		{uint32(StatusUnimplemented), 12, "StatusUnimplemented"},
		{uint32(StatusBrokenConnection), 11, "StatusBrokenConnection"},
		{uint32(LogLevelCritical), 5, "LogLevelCritical"},
		{uint32(MetricTypeHistogram), 2, "MetricTypeHistogram"},
		{uint32(StreamTypeUpstream), 3, "StreamTypeUpstream"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if StatusCasMismatch.String() != "cas mismatch" || LogLevelWarn.String() != "warn" {
		t.Error("names")
	}
}
