/**
 * A fake IMDS as a small python3 program (python3 is in every base install the tests run on, and a separate process
 * inside the namespace is what real clients talk to). Token semantics follow the fact sheet section 9: PUT
 * /latest/api/token with a TTL header 1..21600 gives a token; a PUT with X-Forwarded-For or to another version path is
 * refused; a GET with a bad token gets 401; a GET without a token works when tokens are optional and gets 401 when
 * required. HTTP/1.1 keep-alive is supported. Each request is appended to a log file as one JSON line. With a mode file
 * (a fifth argument), the mode is read from it at every request (`{"httpTokens": ..., "httpEndpoint": ...}`), so the
 * simulator can switch a live instance to `required` or disable its endpoint (403) without restarting the server.
 */
export const FAKE_IMDS_PY = String.raw`
import json, secrets, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

addr, port, tokens_mode, log_path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
mode_path = sys.argv[5] if len(sys.argv) > 5 else None
issued = {}

def mode():
    if mode_path is None:
        return tokens_mode, 'enabled'
    try:
        with open(mode_path) as f:
            m = json.load(f)
        return m.get('httpTokens', tokens_mode), m.get('httpEndpoint', 'enabled')
    except (OSError, ValueError):
        return tokens_mode, 'enabled'
DATA = {
    '/latest/meta-data/': 'ami-id\ninstance-id\ninstance-type\nlocal-ipv4\niam/',
    '/latest/meta-data/instance-id': 'i-0123456789abcdef0',
    '/latest/meta-data/ami-id': 'ami-0abcdef1234567890',
    '/latest/meta-data/instance-type': 't3.micro',
    '/latest/meta-data/local-ipv4': '10.0.0.10',
    '/latest/meta-data/iam/': 'security-credentials/',
    '/latest/meta-data/iam/security-credentials/': 'app-role',
    '/latest/dynamic/instance-identity/document': '{"region": "us-east-1", "instanceId": "i-0123456789abcdef0"}',
}

class H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def log_message(self, *a):
        pass
    def reply(self, code, body='', headers=None):
        b = body.encode()
        self.send_response(code)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(len(b)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(b)
    def record(self, kind, code):
        with open(log_path, 'a') as f:
            f.write(json.dumps({'method': self.command, 'path': self.path, 'kind': kind, 'status': code, 't': time.time()}) + '\n')
    def do_PUT(self):
        n = int(self.headers.get('Content-Length') or 0)
        if n:
            self.rfile.read(n)
        if mode()[1] == 'disabled':
            self.record('token', 403); return self.reply(403, 'Forbidden')
        if self.headers.get('X-Forwarded-For') is not None:
            self.record('token', 403); return self.reply(403, 'Forbidden')
        if self.path != '/latest/api/token':
            self.record('token', 403); return self.reply(403, 'Forbidden')
        ttl = self.headers.get('X-aws-ec2-metadata-token-ttl-seconds')
        if ttl is None or not ttl.isdigit() or not (1 <= int(ttl) <= 21600):
            self.record('token', 400); return self.reply(400, 'Bad Request')
        tok = 'AQAE' + secrets.token_urlsafe(40)
        issued[tok] = time.time() + int(ttl)
        self.record('token', 200)
        self.reply(200, tok, {'X-aws-ec2-metadata-token-ttl-seconds': ttl})
    def do_GET(self):
        tokens, endpoint = mode()
        tok = self.headers.get('X-aws-ec2-metadata-token')
        if endpoint == 'disabled':
            self.record('v2' if tok is not None else 'v1', 403); return self.reply(403, 'Forbidden')
        if tok is not None:
            if issued.get(tok, 0) < time.time():
                self.record('v2', 401); return self.reply(401, 'Unauthorized')
            kind = 'v2'
        else:
            kind = 'v1'
            if tokens == 'required':
                self.record('v1', 401); return self.reply(401, 'Unauthorized')
        body = DATA.get(self.path.split('?')[0])
        if body is None:
            self.record(kind, 404); return self.reply(404, 'Not Found')
        self.record(kind, 200)
        self.reply(200, body)

ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer((addr, port), H).serve_forever()
`;
