#!/usr/bin/env python3
"""The bench's hostile phase (docs/limits.md): attacks on a running release server
while /healthz is timed and the server's memory is sampled.

    scripts/hostile.py BASE PID

Prints one line per attack: what the attacker got, /healthz p50/p99/max and the
server's peak RSS during it. Loopback only; every loop is bounded in count and
time. The server must run with TRUSTED_PROXY_HOPS=1 (so the sign-up burst can
come from 200 addresses) and with the per-user rates raised.
"""

import http.cookiejar
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

BASE, PID = sys.argv[1], int(sys.argv[2])
CORES = os.cpu_count() or 2


def rss_kb():
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1])
    return 0


class Watch:
    """Times /healthz every 10 ms and samples RSS every 20 ms while it runs."""

    def __enter__(self):
        self.stop = threading.Event()
        self.lat, self.peak, self.errors = [], rss_kb(), 0
        self.threads = [threading.Thread(target=self._health), threading.Thread(target=self._rss)]
        for t in self.threads:
            t.start()
        return self

    def _health(self):
        while not self.stop.is_set():
            t0 = time.perf_counter()
            try:
                urllib.request.urlopen(BASE + "/healthz", timeout=10).read()
                self.lat.append(time.perf_counter() - t0)
            except Exception:
                self.errors += 1
            time.sleep(0.01)

    def _rss(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_kb())
            time.sleep(0.02)

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join()

    def summary(self):
        lat = sorted(self.lat) or [float("nan")]
        pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000
        return (f"healthz p50 {pick(0.5):.1f} ms, p99 {pick(0.99):.1f} ms, max {lat[-1] * 1000:.1f} ms"
                f" ({len(self.lat)} probes, {self.errors} failed); peak RSS {self.peak / 1024:.1f} MB")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Uploads answer with a redirect whose target is the result: keep it."""

    def redirect_request(self, *a, **k):
        return None


def client():
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    return opener


def call(opener, path, fields, forwarded=None, timeout=120):
    data = urllib.parse.urlencode(fields).encode()
    req = urllib.request.Request(BASE + path, data=data, method="POST")
    req.add_header("Origin", BASE)
    req.add_header("Accept", "application/json")
    if forwarded:
        req.add_header("X-Forwarded-For", forwarded)
    try:
        with opener.open(req, timeout=timeout) as res:
            return res.status, res.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def multipart(opener, path, name, filename, content):
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csv_text\"\r\n\r\n\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(BASE + path, data=body, method="POST")
    req.add_header("Origin", BASE)
    req.add_header("Accept", "text/html")
    req.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    try:
        with opener.open(req, timeout=120) as res:
            return res.status, res.headers.get("Location", "")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Location", "")


def user(tag):
    c = client()
    status, body = call(c, "/api/signup", {"name": "Bench", "email": f"{tag}-{uuid.uuid4().hex[:8]}@example.com",
                                          "password": "benchmark password"}, forwarded=f"10.9.{os.getpid() % 250}.1")
    assert status == 200, (status, body)
    return c


def counts(statuses):
    out = {}
    for s in statuses:
        out[s] = out.get(s, 0) + 1
    return ", ".join(f"{n}× {s}" for s, n in sorted(out.items()))


def burst(n, job):
    results = [None] * n
    def run(i):
        results[i] = job(i)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def attack_previews():
    c = user("preview")
    body = "{{ v }}" * 2000
    value = "x" * 50_000
    deadline = time.time() + 5
    def job(_):
        got = []
        while time.time() < deadline and len(got) < 200:
            got.append(call(c, "/api/compose/preview",
                            {"to": "v@example.com", "subject": "Hi", "body": body, "values[v]": value})[0])
        return got
    with Watch() as w:
        results = burst(2 * CORES, job)
    flat = [s for r in results for s in r]
    print(f"(a) {2 * CORES} clients previewing a template whose output overflows the 1 MB cap for 5 s: "
          f"{counts(flat)}; {w.summary()}")


def attack_signups():
    def job(i):
        c = client()
        return call(c, "/api/signup", {"name": "Burst", "email": f"burst-{uuid.uuid4().hex}@example.com",
                                       "password": "benchmark password"},
                    forwarded=f"10.{i // 250}.{i % 250}.7")[0]
    with Watch() as w:
        statuses = burst(200, job)
    print(f"(b) 200 parallel sign-ups from 200 addresses: {counts(statuses)}; {w.summary()}")


def attack_csv():
    c = user("csv")
    header = ",".join(f"{'h' * 97}{i:03d}" for i in range(100))
    # The shape that asked for 26 GB before: 5 MB of wide headers and commas.
    commas = header + "\n"
    commas += ("," * 99 + "\n") * ((5 * 1024 * 1024 - len(commas) - 64) // 100)
    # The most a file may hold and still be accepted: 10,000 rows of 100 one-letter cells.
    full = header + "\n" + ("x," * 99 + "x\n") * 10_000
    with Watch() as w:
        results = []
        for name, text in (("commas.csv", commas), ("full.csv", full)):
            status, location = multipart(c, "/api/merge/upload", "csv_file", name, text.encode())
            report = call(c, "/api/merge/report", {"import_id": location.rsplit("/", 1)[-1]})[0] \
                if "/merge/" in location else "-"
            results.append(f"{name} ({len(text) / 1048576:.1f} MB): upload {status} → "
                           f"{urllib.parse.unquote(location)[:70]}, report {report}")
    print(f"(c) worst-case CSVs: {'; '.join(results)}; {w.summary()}")


def attack_big_merge():
    c = user("merge")
    body = "Hello {{ first_name }}. " + ("Lorem ipsum dolor sit amet. " * 3600)[:100_000 - 40]
    status, template = call(c, "/api/templates/save", {"id": "", "name": "Big", "subject": "Hi {{ first_name }}",
                                                       "body": body})
    assert status == 200, (status, template)
    template = json.loads(template)
    csv = "email,first_name\n" + "".join(f"p{i}@example.com,P{i}\n" for i in range(10_000))
    status, location = multipart(c, "/api/merge/upload", "csv_file", "big.csv", csv.encode())
    import_id = location.rsplit("/", 1)[-1]
    with Watch() as w:
        t0 = time.perf_counter()
        r_status, _ = call(c, "/api/merge/report", {"import_id": import_id, "template_id": template})
        report_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        q_status, q_body = call(c, "/api/merge/queue", {"merge[import_id]": import_id, "merge[template_id]": template,
                                                        "merge[email_column]": "email", "merge[when]": "later",
                                                        "merge[send_at]": "2099-01-01T09:00"})
        queue_s = time.perf_counter() - t0
    print(f"(d) 10,000 rows with a 100 KB body: report {r_status} in {report_s:.2f} s, queue {q_status} "
          f"({q_body.decode()[:20]} messages) in {queue_s:.2f} s; {w.summary()}")


for attack in (attack_previews, attack_signups, attack_csv, attack_big_merge):
    attack()
