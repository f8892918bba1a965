package wsman

import "context"

// Version is the product version Identify reports.
var Version = "1.0"

// identify answers Identify: the protocol version, the product and the
// security profiles.
func (h *Handler) identify(_ context.Context, req *request, _ none) (*out, error) {
	o := &out{}
	o.s(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<s:Envelope xmlns:s="`)
	o.s(req.env.soap)
	o.s(`" xmlns:wsmid="` + nsWSMID + `"><s:Header/><s:Body><wsmid:IdentifyResponse><wsmid:ProtocolVersion>` + nsWSMan +
		`</wsmid:ProtocolVersion><wsmid:ProductVendor>wbemd</wsmid:ProductVendor><wsmid:ProductVersion>`)
	o.text(Version)
	o.s(`</wsmid:ProductVersion><wsmid:SecurityProfiles><wsmid:SecurityProfileName>http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/http/basic</wsmid:SecurityProfileName><wsmid:SecurityProfileName>http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/basic</wsmid:SecurityProfileName></wsmid:SecurityProfiles></wsmid:IdentifyResponse>`)
	o.tail()
	return o, nil
}
