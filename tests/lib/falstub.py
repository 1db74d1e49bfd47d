"""A stand-in for fal.ai, the only fake the tests use (Python stdlib).

Two servers on free loopback ports share one state, as fal's two hosts
do: `queue` (queue.fal.run) and `run` (fal.run). Both serve the image
files their answers point to (real JPEG and PNG bytes of the requested
size) under /files/.

Queue API, with fal's subpath trap: submit is POST /{owner}/{app}/{model}
(e.g. /fal-ai/flux/schnell), but the status, stream, result and cancel
URLs it answers with live under the app, /fal-ai/flux/requests/{id}
[/status|/status/stream|/cancel]. A client that builds
.../schnell/requests/... itself gets 404 (counted as "not_found").

A queued job lives as fal's do, on the stand-in's own clock (a scheduler
thread): IN_QUEUE for at least half its delay, and then for as long as
`concurrency` jobs are IN_PROGRESS (FalStub(concurrency=N); only running
jobs count, queued ones are never refused); IN_PROGRESS for the other
half; then COMPLETED. Each change is stamped (job["stamps"][status],
time.time()), and heard at once on the status stream. The status answers
202 while queued or running and 200 when completed; cancel 202
CANCELLATION_REQUESTED, or 400 ALREADY_COMPLETED. The stream
(GET .../status/stream) sends server-sent events, `data: {status}` at
once and at every change, a `: keep-alive` comment every `keepalive`
seconds (fal: 15), and ends after COMPLETED.

Every API call must carry `Authorization: Key <key>` (else 401). Input
JSON is checked like fal's schema (else 422 with a detail array). The
headers of each submit or sync POST are kept (stub.headers(prompt)).

Per test, a prompt is given a script: stub.script(prompt, action, ...).
The n-th call (submit or sync POST) for that prompt plays action n (the
last one repeats). An action is a dict, {} meaning "succeed":
  delay=S          the generation takes S seconds (queue: IN_QUEUE, then
                   IN_PROGRESS until then; sync: the POST waits)
  until=EVENT      sync only: the POST waits until the test sets the
                   threading.Event (at most 30 s)
  status=N         answer HTTP N with fal's error body:
  detail=X         ... "detail" (a string or a list; default by status)
  error_type=T     ... "error_type" (and X-Fal-Error-Type)
  retry_after=V    ... a Retry-After header
  phase=P          where the error or output fault happens: "submit"
                   (default for status=; the sync POST), "status" or
                   "result" (default for output=; the sync POST in sync)
  output=O         "garbage", "truncated" (valid HTTP, half the JSON),
                   "cut" (connection closed mid-body), "stall" (half the
                   body, then silence), "no_images", "nsfw", "html"
  result_cut=N     the job's first N result GETs are cut mid-body
  result_fail=N    the job's first N result GETs answer 503
  submit=C         "cut": the submit (or sync POST) is read and the job
                   taken, then the connection is closed without an
                   answer; "stall": taken, and no answer ever
  stream=M         the status stream: "cut" (the first event, then half
                   of one, then the connection is cut), "buffer" (as a
                   buffering proxy: nothing until COMPLETED, then all of
                   it), "silent" (the first event, then nothing at all),
                   "error" (answers 500)
  image_url=U      the image URL to answer with ("{files}" = our files)
  image=I          the file download: "404", "bad_magic", "huge", "stall"
  image_fail=N     the job's first N file downloads answer 503 (the job's
                   act may be changed while it lives: stub.job_of(prompt))
  queue=Q          "never" (IN_PROGRESS forever), "unknown" (a status
                   that is not fal's)
  status_fail=N    the first N status polls or stream requests answer 503
  submit_urls="offhost"  the submit answers with URLs on another host
Counts: stub.calls(prompt) is the number of calls fal would count
(submits plus sync POSTs); stub.billed(prompt) the jobs fal would bill:
those that ran (a queued job that reached IN_PROGRESS, a sync POST that
was taken), unless their answer is a 5xx, 429 or 401/403 (fal bills no
5xx). stub.count(what, prompt) counts "submit", "run", "status",
"stream", "result", "cancel", "download", "download_with_auth",
"unauthorized", "not_found".
"""

import collections
import heapq
import http.server
import json
import math
import re
import socket
import struct
import threading
import time
import uuid
import zlib

from .servers import free_port

APP_RE = re.compile(r"^/([^/]+)/([^/]+)/requests/([0-9a-f-]{36})"
                    r"(/status|/status/stream|/cancel)?$")
MODEL_RE = re.compile(r"^/([^/]+)/([^/]+)(/[^/]+)+$")
FILE_RE = re.compile(r"^/files/([0-9a-f-]{36})\.(jpeg|png)$")

def _bits_to_bytes(bits):
    """Entropy-coded data: pad with 1s, stuff 0x00 after each 0xFF."""
    bits += "1" * (-len(bits) % 8)
    out = bytearray()
    for i in range(0, len(bits), 8):
        b = int(bits[i:i + 8], 2)
        out.append(b)
        if b == 0xFF:
            out.append(0)
    return bytes(out)


def _huff_codes(counts, symbols):
    codes, code, k = {}, 0, 0
    for length in range(1, 17):
        for _ in range(counts[length - 1]):
            codes[symbols[k]] = format(code, "0%db" % length)
            code += 1
            k += 1
        code <<= 1
    return codes


DC_COUNTS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]   # JPEG Annex K
DC_SYMBOLS = list(range(12))
AC_COUNTS = [1] + [0] * 15                                   # only EOB
AC_SYMBOLS = [0]


def make_jpeg(w, h, gray=128):
    """A real baseline greyscale JPEG of w x h, one flat grey."""
    def seg(marker, payload):
        return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload
    dc = _huff_codes(DC_COUNTS, DC_SYMBOLS)
    ac = _huff_codes(AC_COUNTS, AC_SYMBOLS)
    bits, prev = [], 0
    value = 8 * (gray - 128)            # DC of a flat block, quantiser 1
    for _ in range(((w + 7) // 8) * ((h + 7) // 8)):
        diff, prev = value - prev, value
        size = abs(diff).bit_length()
        bits.append(dc[size])
        if size:
            bits.append(format(diff if diff > 0 else diff + (1 << size) - 1,
                               "0%db" % size))
        bits.append(ac[0])
    return b"".join([
        b"\xff\xd8",
        seg(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
        seg(0xDB, b"\x00" + b"\x01" * 64),
        seg(0xC0, struct.pack(">BHHB", 8, h, w, 1) + b"\x01\x11\x00"),
        seg(0xC4, b"\x00" + bytes(DC_COUNTS) + bytes(DC_SYMBOLS)),
        seg(0xC4, b"\x10" + bytes(AC_COUNTS) + bytes(AC_SYMBOLS)),
        seg(0xDA, b"\x01\x01\x00\x00\x3f\x00"),
        _bits_to_bytes("".join(bits)),
        b"\xff\xd9"])


def make_png(w, h, gray=128):
    """A real greyscale PNG of w x h, one flat grey."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    row = b"\x00" + bytes([gray]) * w
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(row * h, 6)) +
            chunk(b"IEND", b""))


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"       # keep-alive, as fal's hosts
    server_version = "falstub"

    def log_message(self, *a):
        pass

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without this, Nagle and
        # the client's delayed ACK add 40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    @property
    def stub(self):
        return self.server.stub

    # -- plumbing ---------------------------------------------------------
    def send(self, status, body, headers=None, ctype="application/json"):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_partial(self, body, stall, ctype="application/json"):
        """Announce all of body, send half, then stall or hang up."""
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:len(body) // 2])
        self.wfile.flush()
        if stall:
            self.stub.stopping.wait(60)
        self.close_connection = True

    def hang_up(self, stall=False):
        """Say nothing: hang up at once, or after the client gave up."""
        if stall:
            self.stub.stopping.wait(60)
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def body_json(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw)
        except ValueError:
            return None

    def authorised(self):
        if self.headers.get("Authorization") == "Key " + self.stub.key:
            return True
        self.stub.bump("unauthorized", None)
        self.send(401, {"detail": "Unauthorized"})
        return False

    def error(self, act):
        st = act["status"]
        detail = act.get("detail")
        if detail is None:
            detail = {401: "Unauthorized", 429: "Too many requests",
                      422: [{"loc": ["body", "prompt"], "msg": "rejected by test",
                             "type": "value_error"}]}.get(st, "Upstream error")
        body = {"detail": detail}
        headers = {}
        if act.get("error_type"):
            body["error_type"] = act["error_type"]
            headers["X-Fal-Error-Type"] = act["error_type"]
        if act.get("retry_after") is not None:
            headers["Retry-After"] = str(act["retry_after"])
        self.send(st, body, headers)

    # -- routes -----------------------------------------------------------
    def do_POST(self):
        if not MODEL_RE.match(self.path) or "/requests/" in self.path:
            return self.not_found()
        inp = self.body_json()
        prompt = inp.get("prompt") if isinstance(inp, dict) else None
        job, act = self.stub.new_job(prompt, inp, self.server.api,
                                     {k.lower(): v for k, v in self.headers.items()})
        if not self.authorised():
            return
        bad = check_input(inp)
        if bad:
            return self.send(422, {"detail": bad})
        if self.server.api == "queue":
            return self.submit(job, act)
        return self.sync(job, act)

    def do_GET(self):
        m = FILE_RE.match(self.path)
        if m:
            return self.file(m.group(1))
        m = APP_RE.match(self.path)
        if not m or self.server.api != "queue" or m.group(4) == "/cancel":
            return self.not_found()
        if not self.authorised():
            return
        job = self.stub.jobs.get(m.group(3))
        if job is None or job["state"] is None:
            return self.not_found()
        if m.group(4) == "/status":
            return self.status(job)
        if m.group(4) == "/status/stream":
            return self.stream(job)
        return self.result(job)

    def do_PUT(self):
        m = APP_RE.match(self.path)
        if not m or m.group(4) != "/cancel" or self.server.api != "queue":
            return self.not_found()
        self.body_json()
        if not self.authorised():
            return
        job = self.stub.jobs.get(m.group(3))
        if job is None or job["state"] is None:
            return self.not_found()
        self.stub.bump("cancel", job["prompt"])
        if not self.stub.cancel(job):
            return self.send(400, {"status": "ALREADY_COMPLETED"})
        self.send(202, {"status": "CANCELLATION_REQUESTED"})

    def not_found(self):
        self.stub.bump("not_found", None)
        self.send(404, {"detail": "Not Found"})

    # -- queue ------------------------------------------------------------
    def submit(self, job, act):
        if act.get("status") and act.get("phase", "submit") == "submit":
            return self.error(act)
        job["app"] = "/".join(self.path.split("/")[1:3])
        self.stub.accept(job)
        if act.get("submit") in ("cut", "stall"):
            return self.hang_up(act["submit"] == "stall")
        self.send(200, dict(self.stub.urls(job), request_id=job["id"], queue_position=0),
                  {"x-fal-request-id": job["id"]})

    def status_fails(self, job):
        """The first status_fail status polls or streams answer 503."""
        job["polls"] += 1
        if job["polls"] <= job["act"].get("status_fail", 0):
            self.send(503, {"detail": "status unavailable",
                            "error_type": "runner_scheduling_failure"})
            return True
        act = job["act"]
        if act.get("status") and act.get("phase") == "status":
            self.error(act)
            return True
        return False

    def status(self, job):
        self.stub.bump("status", job["prompt"])
        if self.status_fails(job):
            return
        obj = self.stub.status_of(job)
        self.send(200 if obj["status"] == "COMPLETED" else 202, obj)

    def stream(self, job):
        self.stub.bump("stream", job["prompt"])
        if self.status_fails(job):
            return
        mode = job["act"].get("stream")
        if mode == "error":
            return self.send(500, {"detail": "stream unavailable"})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        stub, held, sent, last, beat = self.stub, [], 0, None, time.monotonic()
        try:
            while not stub.stopping.is_set():
                with stub.cv:
                    obj = stub.status_of(job)
                    while obj == last and not stub.stopping.is_set():
                        wait = stub.keepalive - (time.monotonic() - beat)
                        if wait <= 0:
                            break
                        stub.cv.wait(wait)
                        obj = stub.status_of(job)
                if obj == last:
                    beat = time.monotonic()
                    if mode not in ("silent", "buffer"):
                        self.chunk(b": keep-alive\n\n")
                    continue
                last = obj
                if mode == "silent" and sent > 0:
                    continue        # not a byte more, not even the end
                event = b"data: " + json.dumps(obj).encode() + b"\n\n"
                final = obj["status"] not in ("IN_QUEUE", "IN_PROGRESS")
                if mode == "buffer":
                    held.append(event)
                    if final:
                        self.chunk(b"".join(held))
                elif mode == "cut" and sent > 0:
                    self.chunk(event[:len(event) // 2])
                    return self.hang_up()
                else:
                    self.chunk(event)
                sent += 1
                if final:
                    self.wfile.write(b"0\r\n\r\n")
                    return
        except OSError:
            pass        # the client hung up

    def result(self, job):
        self.stub.bump("result", job["prompt"])
        if not job.get("done"):
            return self.send(400, {"detail": "Request is still in progress"})
        job["results"] += 1
        act = job["act"]
        if job["results"] <= act.get("result_fail", 0):
            return self.send(503, {"detail": "result unavailable",
                                   "error_type": "runner_scheduling_failure"})
        if job["results"] <= act.get("result_cut", 0):
            return self.output(job, "cut")
        if act.get("status") and act.get("phase") == "result":
            return self.error(act)
        self.output(job)

    # -- sync -------------------------------------------------------------
    def sync(self, job, act):
        if act.get("status"):
            return self.error(act)
        if not self.stub.enter(job["prompt"]):
            return self.send(429, {"detail": "concurrency limit reached"})
        try:
            self.stub.bill(job)
            if act.get("submit") in ("cut", "stall"):
                return self.hang_up(act["submit"] == "stall")
            if act.get("delay"):
                self.stub.stopping.wait(act["delay"])
            if act.get("until") is not None:    # a threading.Event the test sets
                act["until"].wait(30)
        finally:
            self.stub.leave()
        job["done"] = True
        self.output(job)

    # -- the model's output and its file ----------------------------------
    def output(self, job, fault=None):
        act = job["act"]
        inp = job["input"]
        ext = "png" if inp["output_format"] == "png" else "jpeg"
        url = act.get("image_url", "{files}%s.%s" % (job["id"], ext))
        url = url.replace("{files}", self.stub.files_base)
        w, h = inp["image_size"]["width"], inp["image_size"]["height"]
        out = {"images": [{"url": url, "width": w, "height": h,
                           "content_type": "image/" + ext}],
               "timings": {"inference": 0.25}, "seed": inp.get("seed", 7),
               "has_nsfw_concepts": [act.get("output") == "nsfw"],
               "prompt": inp["prompt"]}
        fault = fault or act.get("output")
        if fault == "no_images":
            del out["images"]
        body = json.dumps(out).encode()
        hdrs = {"x-fal-request-id": job["id"]}
        if fault == "garbage":
            return self.send(200, b"<html>502 Bad Gateway</html>{", hdrs)
        if fault == "html":
            return self.send(200, b"<html>hi</html>", hdrs, "text/html")
        if fault == "truncated":
            return self.send(200, body[:len(body) // 2], hdrs)
        if fault in ("cut", "stall"):
            return self.send_partial(body, fault == "stall")
        self.send(200, body, hdrs)

    def file(self, jid):
        job = self.stub.jobs.get(jid)
        if job is None:
            return self.not_found()
        self.stub.bump("download", job["prompt"])
        if self.headers.get("Authorization"):
            self.stub.bump("download_with_auth", job["prompt"])
        act, inp = job["act"], job["input"]
        job["downloads"] = job.get("downloads", 0) + 1
        if job["downloads"] <= act.get("image_fail", 0):
            return self.send(503, b"try later", ctype="text/plain")
        w, h = inp["image_size"]["width"], inp["image_size"]["height"]
        png = inp["output_format"] == "png"
        gray = 40 + zlib.crc32(inp["prompt"].encode()) % 160
        if act.get("image") == "bad_magic":
            png = not png
        data = make_png(w, h, gray) if png else make_jpeg(w, h, gray)
        if act.get("image") == "404":
            return self.send(404, b"no such file", ctype="text/plain")
        if act.get("image") == "huge":
            data += b"\0" * (self.stub.huge + 1)
        if act.get("image") == "stall":
            return self.send_partial(data, True, "image/png" if png else "image/jpeg")
        self.send(200, data, ctype="image/png" if png else "image/jpeg")


def check_input(inp):
    """fal's schema checks on the input we care about: a detail list, or
    None if the input is good."""
    def bad(field, msg):
        return [{"loc": ["body", field], "msg": msg, "type": "value_error"}]
    if not isinstance(inp, dict):
        return bad("", "body is not a JSON object")
    if not isinstance(inp.get("prompt"), str) or not inp["prompt"]:
        return bad("prompt", "field required")
    size = inp.get("image_size")
    if (not isinstance(size, dict) or not isinstance(size.get("width"), int)
            or not isinstance(size.get("height"), int)):
        return bad("image_size", "width and height required")
    if not isinstance(inp.get("num_inference_steps"), int) or not 1 <= inp["num_inference_steps"] <= 12:
        return bad("num_inference_steps", "must be 1..12")
    if inp.get("num_images") != 1:
        return bad("num_images", "must be 1 here")
    if not isinstance(inp.get("enable_safety_checker"), bool):
        return bad("enable_safety_checker", "must be a boolean")
    if inp.get("output_format") not in ("jpeg", "png"):
        return bad("output_format", "must be jpeg or png")
    if "seed" in inp and not isinstance(inp["seed"], int):
        return bad("seed", "must be an integer")
    return None


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default of 5 drops SYNs when a test fires a burst.
    request_queue_size = 256

    def __init__(self, stub, api):
        self.stub = stub
        self.api = api
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request, client_address):
        # A client that hangs up (a timeout, a size cap) is not news.
        pass


def _billable(act):
    """Does fal bill a job that ran with this action? Not for an answer
    that is a 5xx, 429 or 401/403."""
    st = act.get("status")
    return not st or not (st >= 500 or st in (401, 403, 429))


class FalStub:
    def __init__(self, key, huge=300000, concurrency=None, keepalive=15.0):
        self.key = key
        self.huge = huge
        self.concurrency = concurrency      # IN_PROGRESS jobs at once; None: no limit
        self.keepalive = keepalive
        self.lock = threading.Lock()
        self.cv = threading.Condition(self.lock)
        self.scripts = {}
        self.counts = collections.Counter()
        self.inputs = {}
        self.jobs = {}
        self.queued = []            # queued jobs, in the order they came
        self.in_progress = []
        self.wakeups = []           # (monotonic time, seq) heap
        self.seq = 0
        self.stopping = threading.Event()
        # Sync runs in progress, the most at once, and the order they began.
        self.running = 0
        self.max_running = 0
        self.started = []
        # Queued jobs IN_PROGRESS at most at once.
        self.max_in_progress = 0
        self.servers = {api: _Server(self, api) for api in ("queue", "run")}
        self.threads = [threading.Thread(target=s.serve_forever, daemon=True)
                        for s in self.servers.values()]
        self.threads.append(threading.Thread(target=self._clock, daemon=True))
        for t in self.threads:
            t.start()

    def _base(self, api):
        return "http://127.0.0.1:%d/" % self.servers[api].server_address[1]

    @property
    def queue_base(self):
        return self._base("queue")

    @property
    def run_base(self):
        return self._base("run")

    @property
    def files_base(self):
        return self._base("run") + "files/"

    def script(self, prompt, *actions):
        with self.lock:
            self.scripts[prompt] = list(actions) or [{}]

    def new_job(self, prompt, inp, api, headers):
        """Count a call for prompt; its job (not yet taken) and action."""
        with self.lock:
            n = self.counts[("call", prompt)]
            self.counts[("call", prompt)] += 1
            self.counts[("submit" if api == "queue" else "run", prompt)] += 1
            acts = self.scripts.get(prompt, [{}])
            act = acts[min(n, len(acts) - 1)]
            job = {"id": str(uuid.uuid4()), "prompt": prompt, "input": inp,
                   "act": act, "t0": time.monotonic(), "polls": 0, "results": 0,
                   "headers": headers, "state": None, "stamps": {}, "billed": False}
            self.jobs[job["id"]] = job
            if prompt is not None:
                self.inputs[prompt] = inp
            return job, act

    # -- the queue's clock ------------------------------------------------
    def urls(self, job):
        base = self.queue_base
        if job["act"].get("submit_urls") == "offhost":
            base = base.replace("127.0.0.1", "localhost")
        req = "%s%s/requests/%s" % (base, job.get("app", "fal-ai/flux"), job["id"])
        return {"status_url": req + "/status", "response_url": req,
                "cancel_url": req + "/cancel"}

    def accept(self, job):
        """fal took the job: it queues from now."""
        delay = job["act"].get("delay", 0)
        with self.cv:
            job["state"] = "IN_QUEUE"
            job["stamps"]["IN_QUEUE"] = time.time()
            job["eligible"] = time.monotonic() + delay / 2
            job["runs"] = math.inf if job["act"].get("queue") == "never" else delay / 2
            self.queued.append(job)
            self._wake_at(job["eligible"])
            self._advance()

    def _wake_at(self, t):
        self.seq += 1
        heapq.heappush(self.wakeups, (t, self.seq))
        self.cv.notify_all()

    def _mark(self, job, state):
        job["state"] = state
        job["stamps"][state] = time.time()

    def bill(self, job):
        """Under the lock or not: count job as billed once."""
        if not job["billed"] and _billable(job["act"]):
            job["billed"] = True
            self.counts[("billed", job["prompt"])] += 1

    def _advance(self):
        """Move every job whose time has come (under the lock)."""
        now = time.monotonic()
        moved = True
        while moved:
            moved = False
            for job in [j for j in self.in_progress if j["due"] <= now]:
                self.in_progress.remove(job)
                self._mark(job, "COMPLETED")
                job["done"] = True
                moved = True
            for job in list(self.queued):
                if job["eligible"] > now:
                    continue
                if self.concurrency is not None and len(self.in_progress) >= self.concurrency:
                    break
                self.queued.remove(job)
                self.in_progress.append(job)
                self._mark(job, "IN_PROGRESS")
                self.bill(job)
                job["due"] = now + job["runs"]
                self.max_in_progress = max(self.max_in_progress, len(self.in_progress))
                if job["runs"] != math.inf:
                    self._wake_at(job["due"])
                moved = True
        self.cv.notify_all()

    def _clock(self):
        with self.cv:
            while not self.stopping.is_set():
                while self.wakeups and self.wakeups[0][0] <= time.monotonic():
                    heapq.heappop(self.wakeups)
                self._advance()
                wait = self.wakeups[0][0] - time.monotonic() if self.wakeups else 1.0
                if wait > 0:
                    self.cv.wait(min(wait, 1.0))

    def cancel(self, job):
        """Cancel job unless it is done: True if it was not."""
        with self.cv:
            if job.get("done"):
                return False
            for q in (self.queued, self.in_progress):
                if job in q:
                    q.remove(job)
            self._mark(job, "CANCELLED")
            job["done"] = job["cancelled"] = True
            self._advance()
            return True

    def status_of(self, job):
        """The job's status object, as the status and the stream answer."""
        st = job["state"]
        if job["act"].get("queue") == "unknown":
            st = "EXPLODED"
        obj = dict(self.urls(job), status=st, request_id=job["id"])
        if st == "IN_QUEUE":
            obj["queue_position"] = self.queued.index(job) if job in self.queued else 0
        elif st == "IN_PROGRESS":
            obj["logs"] = []
        elif st == "COMPLETED":
            obj["metrics"] = {"inference_time": 0.25}
        return obj

    # -- sync runs ----------------------------------------------------------
    def enter(self, prompt):
        """A sync run starts, unless the concurrency limit is reached."""
        with self.lock:
            if self.concurrency is not None and self.running >= self.concurrency:
                return False
            self.running += 1
            self.max_running = max(self.max_running, self.running)
            self.started.append(prompt)
            return True

    def leave(self):
        with self.lock:
            self.running -= 1

    # -- counts -------------------------------------------------------------
    def bump(self, what, prompt):
        with self.lock:
            self.counts[(what, prompt)] += 1

    def calls(self, prompt):
        with self.lock:
            return self.counts[("call", prompt)]

    def billed(self, prompt):
        with self.lock:
            return self.counts[("billed", prompt)]

    def count(self, what, prompt=None):
        with self.lock:
            if prompt is None:
                return sum(n for (w, _), n in self.counts.items() if w == what)
            return self.counts[(what, prompt)]

    def job_of(self, prompt):
        """The last job made for prompt."""
        with self.lock:
            return [j for j in self.jobs.values() if j["prompt"] == prompt][-1]

    def headers(self, prompt):
        """The request headers (lower-case names) of prompt's last call."""
        return self.job_of(prompt)["headers"]

    def stop(self):
        self.stopping.set()
        with self.cv:
            self.cv.notify_all()
        for s in self.servers.values():
            s.shutdown()
            s.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()


def refused_port():
    """A loopback port nobody listens on: connections are refused."""
    return free_port()


class Blackhole:
    """A loopback port whose accept queue is full, so the kernel drops
    new SYNs and a connect() hangs until the client's connect timeout."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.fillers = []
        for _ in range(3):
            c = socket.socket()
            c.setblocking(False)
            try:
                c.connect(("127.0.0.1", self.port))
            except BlockingIOError:
                pass
            self.fillers.append(c)

    def close(self):
        for c in self.fillers:
            c.close()
        self.sock.close()
