package proxy

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// gRPC rides on HTTP/2 with its outcome in the grpc-status trailer (or in
// the headers of a trailers-only answer), under an HTTP 200. The router
// forwards gRPC to the instances over cleartext HTTP/2 (h2c), since gRPC
// needs HTTP/2 end to end, and counts each call by its grpc-status mapped
// to the HTTP status a gateway gives it (grpc-gateway's mapping): INTERNAL,
// UNAVAILABLE and their kin are 5xx, NOT_FOUND and its kin 4xx. Other HTTP/2
// requests go to the instances over HTTP/1.1, like everything else.

// isGRPC reports whether r is a gRPC call.
func isGRPC(r *http.Request) bool {
	return r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc")
}

// grpcHTTPStatus is the HTTP status of a grpc-status code; 0 for one that
// is not a number.
func grpcHTTPStatus(code string) int {
	n, err := strconv.Atoi(code)
	if err != nil {
		return 0
	}
	switch n {
	case 0: // OK
		return http.StatusOK
	case 1: // CANCELLED: the client gave up
		return statusClientClosed
	case 3, 9, 11: // INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE
		return http.StatusBadRequest
	case 4: // DEADLINE_EXCEEDED
		return http.StatusGatewayTimeout
	case 5: // NOT_FOUND
		return http.StatusNotFound
	case 6, 10: // ALREADY_EXISTS, ABORTED
		return http.StatusConflict
	case 7: // PERMISSION_DENIED
		return http.StatusForbidden
	case 8: // RESOURCE_EXHAUSTED
		return http.StatusTooManyRequests
	case 12: // UNIMPLEMENTED
		return http.StatusNotImplemented
	case 14: // UNAVAILABLE
		return http.StatusServiceUnavailable
	case 16: // UNAUTHENTICATED
		return http.StatusUnauthorized
	}
	return http.StatusInternalServerError // UNKNOWN, INTERNAL, DATA_LOSS, and codes to come
}

// grpcBody reads a gRPC answer through to its trailers and sets the
// call's status from grpc-status when the body ends.
type grpcBody struct {
	io.ReadCloser
	resp *http.Response
	c    *call
	once sync.Once
}

func (g *grpcBody) Read(p []byte) (int, error) {
	n, err := g.ReadCloser.Read(p)
	if err == io.EOF {
		g.once.Do(func() {
			if s := grpcHTTPStatus(g.resp.Trailer.Get("Grpc-Status")); s != 0 {
				g.c.status = s
			}
		})
	}
	return n, err
}

// watchGRPC makes resp's grpc-status the call's status: from the headers
// of a trailers-only answer at once, else from the trailers at the end.
func watchGRPC(c *call, resp *http.Response) {
	if s := grpcHTTPStatus(resp.Header.Get("Grpc-Status")); s != 0 {
		c.status = s
		return
	}
	resp.Body = &grpcBody{ReadCloser: resp.Body, resp: resp, c: c}
}
