#!/usr/bin/env python3
"""A WS-Eventing event receiver (DSP0226 push delivery modes) written with
Python's standard library only, for wbemd's tests.

    wsman_receiver.py OUTFILE

It listens on a free port of 127.0.0.1, prints "listening PORT" once it
accepts connections, appends one JSON line per message to OUTFILE
({"action", "bookmark", "names": [Name of each event's TargetInstance]}),
and answers a message that asks for an acknowledgement (wsman:AckRequested)
with a wsman:Ack.
"""
import http.server
import json
import sys
import xml.etree.ElementTree as ET

WSA = '{http://schemas.xmlsoap.org/ws/2004/08/addressing}'
WSMAN = '{http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd}'
SOAP = '{http://www.w3.org/2003/05/soap-envelope}'


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', '0')))
        root = ET.fromstring(body)
        header = root.find(SOAP + 'Header')
        action = header.find(WSA + 'Action').text
        mark = header.find(WSMAN + 'Bookmark')
        names = []
        for el in root.find(SOAP + 'Body').iter():
            if el.tag.endswith('}TargetInstance'):
                for k in el.iter():
                    if k.tag.endswith('}Name') and k.text:
                        names.append(k.text)
        with open(self.server.outfile, 'a') as f:
            f.write(json.dumps({'action': action, 'bookmark': mark.text if mark is not None else None,
                                'names': names}) + '\n')
        answer = b''
        if header.find(WSMAN + 'AckRequested') is not None:
            msgid = header.find(WSA + 'MessageID').text
            answer = ('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
                      'xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing"><s:Header>'
                      '<wsa:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/Ack</wsa:Action>'
                      '<wsa:RelatesTo>%s</wsa:RelatesTo></s:Header><s:Body/></s:Envelope>' % msgid).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/soap+xml;charset=UTF-8')
        self.send_header('Content-Length', str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def main():
    srv = http.server.HTTPServer(('127.0.0.1', 0), Handler)
    srv.outfile = sys.argv[1]
    print('listening %d' % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == '__main__':
    main()
