//go:build tools

// Package peers pins upstream metrics-server as a test peer for metricsd.
// Nothing here is compiled: the blank import only keeps the requirement in
// go.mod and every module the binary needs in go.sum, so that
// `go build -mod=readonly sigs.k8s.io/metrics-server/cmd/metrics-server`
// works from this directory.
package peers

import _ "sigs.k8s.io/metrics-server/cmd/metrics-server"
