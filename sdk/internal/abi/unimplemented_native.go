//go:build !wasm

package abi

// UnimplementedHost answers StatusUnimplemented to every call; embed it in a
// test host and override what the test needs.
type UnimplementedHost struct{}

func (UnimplementedHost) Log(level uint32, msg string) Status            { return StatusUnimplemented }
func (UnimplementedHost) GetLogLevel() (uint32, Status)                  { return 0, StatusUnimplemented }
func (UnimplementedHost) SetTickPeriodMilliseconds(period uint32) Status { return StatusUnimplemented }
func (UnimplementedHost) GetCurrentTimeNanoseconds() (uint64, Status)    { return 0, StatusUnimplemented }
func (UnimplementedHost) GetStatus() (code uint32, msg []byte, st Status) {
	return 0, nil, StatusUnimplemented
}
func (UnimplementedHost) SetProperty(path, value []byte) Status    { return StatusUnimplemented }
func (UnimplementedHost) GetProperty(path []byte) ([]byte, Status) { return nil, StatusUnimplemented }
func (UnimplementedHost) ContinueStream(streamType uint32) Status  { return StatusUnimplemented }
func (UnimplementedHost) CloseStream(streamType uint32) Status     { return StatusUnimplemented }
func (UnimplementedHost) SendLocalResponse(statusCode uint32, details, body, headers []byte, grpcStatus int32) Status {
	return StatusUnimplemented
}
func (UnimplementedHost) GetSharedData(key string) (value []byte, cas uint32, st Status) {
	return nil, 0, StatusUnimplemented
}
func (UnimplementedHost) SetSharedData(key string, value []byte, cas uint32) Status {
	return StatusUnimplemented
}
func (UnimplementedHost) RegisterSharedQueue(name string) (uint32, Status) {
	return 0, StatusUnimplemented
}
func (UnimplementedHost) ResolveSharedQueue(vmID, name string) (uint32, Status) {
	return 0, StatusUnimplemented
}
func (UnimplementedHost) EnqueueSharedQueue(queueID uint32, value []byte) Status {
	return StatusUnimplemented
}
func (UnimplementedHost) DequeueSharedQueue(queueID uint32) ([]byte, Status) {
	return nil, StatusUnimplemented
}
func (UnimplementedHost) GetHeaderMapValue(mapType uint32, key string) ([]byte, Status) {
	return nil, StatusUnimplemented
}
func (UnimplementedHost) AddHeaderMapValue(mapType uint32, key, value string) Status {
	return StatusUnimplemented
}
func (UnimplementedHost) ReplaceHeaderMapValue(mapType uint32, key, value string) Status {
	return StatusUnimplemented
}
func (UnimplementedHost) RemoveHeaderMapValue(mapType uint32, key string) Status {
	return StatusUnimplemented
}
func (UnimplementedHost) GetHeaderMapPairs(mapType uint32) ([]byte, Status) {
	return nil, StatusUnimplemented
}
func (UnimplementedHost) SetHeaderMapPairs(mapType uint32, pairs []byte) Status {
	return StatusUnimplemented
}
func (UnimplementedHost) GetHeaderMapSize(mapType uint32) (uint32, Status) {
	return 0, StatusUnimplemented
}
func (UnimplementedHost) GetBufferBytes(bufferType, start, maxSize uint32) ([]byte, Status) {
	return nil, StatusUnimplemented
}
func (UnimplementedHost) GetBufferStatus(bufferType uint32) (length, flags uint32, st Status) {
	return 0, 0, StatusUnimplemented
}
func (UnimplementedHost) SetBufferBytes(bufferType, start, size uint32, data []byte) Status {
	return StatusUnimplemented
}
func (UnimplementedHost) HttpCall(upstream string, headers, body, trailers []byte, timeoutMs uint32) (uint32, Status) {
	return 0, StatusUnimplemented
}
func (UnimplementedHost) GrpcCall(service, serviceName, method string, metadata, message []byte, timeoutMs uint32) (uint32, Status) {
	return 0, StatusUnimplemented
}
func (UnimplementedHost) GrpcStream(service, serviceName, method string, metadata []byte) (uint32, Status) {
	return 0, StatusUnimplemented
}
func (UnimplementedHost) GrpcSend(token uint32, message []byte, endStream bool) Status {
	return StatusUnimplemented
}
func (UnimplementedHost) GrpcCancel(token uint32) Status { return StatusUnimplemented }
func (UnimplementedHost) GrpcClose(token uint32) Status  { return StatusUnimplemented }
func (UnimplementedHost) DefineMetric(metricType uint32, name string) (uint32, Status) {
	return 0, StatusUnimplemented
}
func (UnimplementedHost) IncrementMetric(metricID uint32, offset int64) Status {
	return StatusUnimplemented
}
func (UnimplementedHost) RecordMetric(metricID uint32, value uint64) Status {
	return StatusUnimplemented
}
func (UnimplementedHost) GetMetric(metricID uint32) (uint64, Status)  { return 0, StatusUnimplemented }
func (UnimplementedHost) SetEffectiveContext(contextID uint32) Status { return StatusUnimplemented }
func (UnimplementedHost) Done() Status                                { return StatusUnimplemented }
func (UnimplementedHost) CallForeignFunction(name string, args []byte) ([]byte, Status) {
	return nil, StatusUnimplemented
}
func (UnimplementedHost) RedisInit(cluster, username, password string, timeoutMs uint32) Status {
	return StatusUnimplemented
}
func (UnimplementedHost) RedisCall(cluster string, query []byte) (uint32, Status) {
	return 0, StatusUnimplemented
}
func (UnimplementedHost) InjectEncodedDataToFilterChain(body []byte, endStream bool) Status {
	return StatusUnimplemented
}
func (UnimplementedHost) GetUpstreamHosts() ([]byte, Status)            { return nil, StatusUnimplemented }
func (UnimplementedHost) SetUpstreamOverrideHost(address []byte) Status { return StatusUnimplemented }
