"""A stand-in for metricsd's container in controller tests: proves what the process was given.

It prints its argv, calls the API server with the kubeconfig it was pointed at (printing the
HTTP status of ``GET /api/v1/nodes`` — 200 only if the ServiceAccount's RBAC allows it), then
serves HTTPS on ``--bind-address``:``--secure-port`` (200 ``ok`` for every path) and prints
``serving``. Run as ``python -c STANDIN_CODE ARGS…``.
"""

from __future__ import annotations

STANDIN_CODE = r'''
import base64, http.server, json, os, ssl, sys, urllib.error, urllib.request
import trustme, yaml
argv = sys.argv[1:]
print("argv " + json.dumps(argv), flush=True)
opts = dict(a[2:].split("=", 1) for a in argv if a.startswith("--") and "=" in a)
kc = yaml.safe_load(open(opts["kubeconfig"]))
cluster = kc["clusters"][0]["cluster"]
token = kc["users"][0]["user"]["token"]
ctx = ssl.create_default_context(
    cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
req = urllib.request.Request(cluster["server"] + "/api/v1/nodes",
                             headers={"Authorization": "Bearer " + token})
try:
    code = urllib.request.urlopen(req, context=ctx, timeout=10).status
except urllib.error.HTTPError as err:
    code = err.code
print("api %d" % code, flush=True)
print("cert-dir-exists %s" % os.path.isdir(opts["cert-dir"]), flush=True)
ca = trustme.CA()
sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ca.issue_cert(opts["bind-address"]).configure_cert(sctx)
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
srv = http.server.HTTPServer((opts["bind-address"], int(opts["secure-port"])), Handler)
srv.socket = sctx.wrap_socket(srv.socket, server_side=True)
print("serving %s:%s" % (opts["bind-address"], opts["secure-port"]), flush=True)
srv.serve_forever()
'''
