package client

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/wbemd/wbemd/cim"
)

// Fetch reads path (a stream wbemd serves beside its doors, such as a
// backup) from the server at url, through opts.Socket when it is set,
// with opts's credentials and certificate checks; the caller reads the
// body to its end and closes it. A body cut short reads as an error
// (io.ErrUnexpectedEOF). Refused credentials or rights are
// WBEM_E_ACCESS_DENIED, with the server's reason; a server that cannot
// be reached is WBEM_E_TRANSPORT_FAILURE; another HTTP failure is
// WBEM_E_FAILED with the server's text.
func Fetch(ctx context.Context, url, path string, opts Options) (io.ReadCloser, error) {
	tlsConf, err := tlsConfig(opts)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{TLSClientConfig: tlsConf, Proxy: nil, DisableKeepAlives: true}
	if opts.Socket != "" {
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", opts.Socket)
		}
	}
	url = strings.TrimSuffix(url, "/") + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, cim.Errorf(cim.EInvalidParameter, "%v", err)
	}
	if opts.Socket == "" && (opts.User != "" || opts.Password != "") {
		req.SetBasicAuth(opts.User, opts.Password)
	}
	rsp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, cim.Errorf(cim.ECallCancelled, "%v", err)
		}
		return nil, cim.Errorf(cim.ETransportFailure, "%v", err)
	}
	if rsp.StatusCode == http.StatusOK {
		return rsp.Body, nil
	}
	text, _ := io.ReadAll(io.LimitReader(rsp.Body, 4096))
	rsp.Body.Close()
	reason := strings.TrimSpace(string(text))
	switch rsp.StatusCode {
	case http.StatusUnauthorized:
		return nil, cim.Errorf(cim.EAccessDenied, "%s refused the user name or password", url)
	case http.StatusForbidden:
		return nil, cim.Errorf(cim.EAccessDenied, "%s: %s", url, reason)
	}
	return nil, cim.Errorf(cim.EFailed, "%s answered HTTP %d: %s", url, rsp.StatusCode, reason)
}
