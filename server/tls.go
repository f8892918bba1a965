package server

import (
	"crypto/tls"
	"slices"
)

// tls12CipherSuites are the TLS 1.2 cipher suites wbemd accepts: Go's
// default suites without the CBC ones, that is ECDHE key exchange (forward
// secrecy) with an AEAD cipher, for ECDSA and RSA certificates. TLS 1.3's
// suites are all AEAD and are not configurable.
var tls12CipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// serverTLSConfig returns the TLS configuration of wbemd's HTTPS listeners
// presenting pair: TLS 1.2 with tls12CipherSuites only, and TLS 1.3.
func serverTLSConfig(pair tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{pair},
		MinVersion:   tls.VersionTLS12,
		CipherSuites: slices.Clone(tls12CipherSuites),
	}
}
