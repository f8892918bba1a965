#!/usr/bin/env python3
"""A CIM-XML indication listener (DSP0200 export messages) written with
Python's standard library only, for wbemd's delivery tests.

    cimxml_listener.py PORT OUTFILE

It listens on 127.0.0.1:PORT (0: a free port), prints "listening PORT" on
stdout once it accepts connections, answers every ExportIndication with an
EXPMETHODRESPONSE, and appends one JSON line per indication to OUTFILE:
{"class", "context", "seq", "id", "target": {property: value}}.
"""
import http.server
import json
import sys
import xml.etree.ElementTree as ET


def properties(inst):
    """The PROPERTY values of an INSTANCE element, as strings."""
    out = {}
    for p in inst:
        if p.tag == "PROPERTY":
            v = p.find("VALUE")
            out[p.get("NAME")] = v.text if v is not None else None
    return out


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            root = ET.fromstring(body)
            msg = root.find("MESSAGE")
            inst = msg.find("SIMPLEEXPREQ/EXPMETHODCALL/EXPPARAMVALUE/INSTANCE")
            props = properties(inst)
            target = {}
            embedded = props.get("TargetInstance") or props.get("SourceInstance")
            if embedded:
                target = properties(ET.fromstring(embedded))
            line = {"class": inst.get("CLASSNAME"), "context": props.get("SequenceContext"),
                    "seq": int(props.get("SequenceNumber")), "id": props.get("IndicationIdentifier"),
                    "target": target}
        except Exception as e:  # a request this listener cannot read
            self.send_response(400)
            self.send_header("CIMError", "request-not-valid")
            self.end_headers()
            self.wfile.write(str(e).encode())
            return
        with open(self.server.outfile, "a") as f:
            f.write(json.dumps(line) + "\n")
        answer = ('<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
                  '<MESSAGE ID="%s" PROTOCOLVERSION="1.0"><SIMPLEEXPRSP>'
                  '<EXPMETHODRESPONSE NAME="ExportIndication"/></SIMPLEEXPRSP></MESSAGE></CIM>'
                  % msg.get("ID")).encode()
        self.send_response(200)
        self.send_header("Content-Type", 'application/xml; charset="utf-8"')
        self.send_header("CIMExport", "MethodResponse")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def main():
    srv = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    srv.outfile = sys.argv[2]
    print("listening %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
