#!/usr/bin/env python3
"""A Berth worker in Python, from stubs generated out of proto/ with Debian's protoc.

It does what any worker must, over the berth.v1 wire contract alone:
  - open a session: OpenSession stream, hello first, then heartbeats every heartbeat_interval;
  - acquire leases (RENDER, WASM) and release each with its outcome (Release is idempotent);
  - fetch the WASM module a lease names with GetModule and check its SHA-256 digest;
  - acknowledge what the broker pushes (here a revoke an operator sends through BrokerAdmin);
  - acquire and release as calls on the session stream, pipelined and matched by call_id, with a
    failing call answered by its CallError while the stream stays open;
  - say goodbye, which ends the session and releases whatever it still holds;
  - with --otlp-port, send a W3C traceparent with an acquire and see the daemon's span of it join
    that trace: the check runs a small OTLP/HTTP receiver on that port, the daemon's
    tracing.otlp.endpoint points at it, and the exported spans must carry the trace id and name the
    caller's span as parent;
  - with --cluster A,B,C (the API addresses of a three-member cluster), find the leader the way a
    generated client should: call a follower, read the google.rpc.ErrorInfo (reason NOT_LEADER,
    domain berth.dev) out of the grpc-status-details-bin trailer, and follow its metadata "leader"
    to open a session and acquire there.

Run by src/e2e/python-client-check.sh against a real daemon, then against a real cluster; prints
one line per check and ends with "python-client: N passed, M failed". Exit status 0 only when every
check passed.
"""

import argparse
import hashlib
import http.server
import os
import queue
import sys
import threading
import time

import grpc
from google.protobuf import duration_pb2

from berth.v1 import admin_pb2, admin_pb2_grpc, broker_pb2, broker_pb2_grpc, common_pb2


def leader_hint(error):
    """The leader a NOT_LEADER refusal names ("" while the member knows none), else None.

    A cluster member that does not lead answers UNAVAILABLE with a google.rpc.Status in the
    grpc-status-details-bin trailer; its details hold an ErrorInfo whose metadata "leader" is the
    leader's API address. Imported here, so that the single-daemon checks need no google.rpc stubs.
    """
    from google.rpc import error_details_pb2, status_pb2

    if not isinstance(error, grpc.RpcError) or error.code() != grpc.StatusCode.UNAVAILABLE:
        return None
    for key, value in error.trailing_metadata() or ():
        if key != "grpc-status-details-bin":
            continue
        status = status_pb2.Status.FromString(value)
        for detail in status.details:
            info = error_details_pb2.ErrorInfo()
            if detail.Is(info.DESCRIPTOR) and detail.Unpack(info):
                if info.reason == "NOT_LEADER" and info.domain == "berth.dev":
                    return info.metadata.get("leader", "")
    return None


class Leader:
    """Calls that go to a cluster's leader: tried on one member, re-sent where a refusal points.

    Starts at the first member; a NOT_LEADER refusal with a hint moves to the member it names at
    once, one without (no leader known yet) or an unreachable member moves to the next member after
    a short pause. A hint naming a member that did not answer since the last success is stale (the
    survivors of a dead leader name it until they elect another) and counts as none; one naming the
    member called means it leads but is not ready yet: the same member again after the pause. The
    same request is sent each time, so an Acquire keeps its request_id.
    """

    def __init__(self, targets):
        self.targets = list(targets)
        self.current = self.targets[0]
        self.channels = {}
        self.hints_followed = []

    def channel(self, target=None):
        target = target or self.current
        if target not in self.channels:
            self.channels[target] = grpc.insecure_channel(target)
        return self.channels[target]

    def call(self, fn, timeout=30):
        """fn(channel) on the leader; returns its result, or raises the last error at timeout."""
        deadline = time.time() + timeout
        unreachable = set()
        while True:
            try:
                return fn(self.channel())
            except grpc.RpcError as e:
                hint = leader_hint(e)
                if time.time() > deadline or (
                        hint is None and e.code() != grpc.StatusCode.UNAVAILABLE):
                    raise
                if hint == self.current:
                    time.sleep(0.2)
                    continue
                if hint and hint not in unreachable:
                    self.hints_followed.append((self.current, hint))
                    if hint not in self.targets:
                        self.targets.append(hint)
                    self.current = hint
                    continue
                if hint is None:
                    unreachable.add(self.current)
                at = self.targets.index(self.current)
                others = self.targets[at + 1:] + self.targets[:at]
                live = [t for t in others if t not in unreachable]
                self.current = (live or others or [self.current])[0]
                time.sleep(0.2)

    def close(self):
        for channel in self.channels.values():
            channel.close()


def cluster_checks(c, members):
    """Against a real three-member cluster: a follower's hint leads a plain client to the leader."""
    admins = {m: admin_pb2_grpc.BrokerAdminStub(grpc.insecure_channel(m)) for m in members}
    leader = None
    followers = []
    deadline = time.time() + 60
    while time.time() < deadline:
        views = {}
        for m, admin in admins.items():
            try:
                views[m] = admin.GetStatus(admin_pb2.GetStatusRequest(), timeout=2).cluster
            except grpc.RpcError:
                pass
        ready = [m for m, v in views.items()
                 if v.role == admin_pb2.CLUSTER_ROLE_LEADER and v.ready]
        if ready:
            leader = ready[0]
            # A follower learns the leader from its first append; until then its hint is empty.
            followers = [m for m, v in views.items() if m != leader and v.leader_api == leader]
            if followers:
                break
        time.sleep(0.2)
    c.check("the cluster elects a ready leader that its followers know", bool(followers),
            "leader=%s followers=%s" % (leader, followers))
    if not followers:
        return

    follower = followers[0]
    try:
        broker_pb2_grpc.LeaseBrokerStub(grpc.insecure_channel(follower)).Acquire(
            broker_pb2.AcquireRequest(session_id="s", kind=common_pb2.RESOURCE_KIND_PDF),
            timeout=10)
        c.check("a follower refuses Acquire NOT_LEADER naming the leader", False, "it answered")
    except grpc.RpcError as e:
        c.check("a follower refuses Acquire NOT_LEADER naming the leader",
                e.code() == grpc.StatusCode.UNAVAILABLE and leader_hint(e) == leader,
                "%s hint=%r leader=%s" % (e.code(), leader_hint(e), leader))

    # A client given the follower first finds the leader by the hint alone.
    route = Leader([follower] + [m for m in members if m != follower])
    session = route.call(lambda ch: Session(broker_pb2_grpc.LeaseBrokerStub(ch), "python-cluster"))
    c.check("the session stream follows the hint and opens on the leader",
            route.current == leader and (follower, leader) in route.hints_followed,
            "current=%s hints=%s" % (route.current, route.hints_followed))
    sid = session.opened.session_id
    # A new leader grants nothing for one session TTL after it took over; the wait covers that.
    request = broker_pb2.AcquireRequest(
        session_id=sid, kind=common_pb2.RESOURCE_KIND_PDF, wait=duration(10),
        request_id="py-cluster-pdf")
    granted = route.call(lambda ch: broker_pb2_grpc.LeaseBrokerStub(ch).Acquire(request, timeout=20))
    c.check("the leader grants the session's acquire",
            granted.WhichOneof("result") == "granted"
            and granted.granted.session_id == sid, str(granted))
    c.check("goodbye closes the stream on the leader", session.goodbye())
    route.close()


class Session:
    """One OpenSession stream: requests go through a queue, events are read on a thread."""

    def __init__(self, stub, worker_id):
        self._requests = queue.Queue()
        self.events = queue.Queue()
        self.acks = []
        self._seq = 0
        self._closed = threading.Event()
        self._responses = stub.OpenSession(iter(self._requests.get, None))
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.send(broker_pb2.SessionRequest(
            hello=broker_pb2.Hello(worker_id=worker_id, labels={"lang": "python"})))
        first = self.next_event(10)
        if isinstance(first, grpc.RpcError):
            self._requests.put(None)  # ends the request iterator
            raise first  # e.g. NOT_LEADER from a cluster member that does not lead
        if first is None or first.WhichOneof("event") != "opened":
            raise RuntimeError("expected opened, got %r" % (first,))
        self.opened = first.opened
        self.interval = self.opened.heartbeat_interval.ToTimedelta().total_seconds()
        self._beat = threading.Thread(target=self._heartbeats, daemon=True)
        self._beat.start()

    def send(self, request):
        self._requests.put(request)

    def _read(self):
        try:
            for event in self._responses:
                kind = event.WhichOneof("event")
                if kind == "heartbeat_ack":
                    self.acks.append(event.heartbeat_ack.seq)
                    continue
                # Pushed commands must be acknowledged, whatever the worker then does.
                for push in ("revoke", "cleanup", "drain"):
                    if kind == push:
                        command_id = getattr(event, push).command_id
                        self.send(broker_pb2.SessionRequest(
                            ack=broker_pb2.Ack(command_id=command_id)))
                self.events.put(event)
        except grpc.RpcError as e:
            self.events.put(e)
        finally:
            self._closed.set()

    def _heartbeats(self):
        while not self._closed.wait(self.interval):
            self._seq += 1
            self.send(broker_pb2.SessionRequest(heartbeat=broker_pb2.Heartbeat(
                seq=self._seq, memory_used_mb=64, memory_limit_mb=1024)))

    def next_event(self, timeout):
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return None

    def goodbye(self, timeout=10):
        self.send(broker_pb2.SessionRequest(goodbye=broker_pb2.Goodbye()))
        closed = self._closed.wait(timeout)
        self._requests.put(None)  # ends the request iterator
        return closed


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("ok      %s" % name)
        else:
            self.failed += 1
            print("FAILED  %s %s" % (name, detail))


class OtlpReceiver:
    """Takes OTLP/HTTP exports (POST /v1/traces, protobuf) and keeps their bodies."""

    def __init__(self, port):
        self.bodies = []
        received = self.bodies

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path == "/v1/traces":
                    received.append(body)
                self.send_response(200)  # an empty ExportTraceServiceResponse
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def wait_for(self, needles, timeout):
        """True once one export holds every byte string of needles."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if any(all(n in body for n in needles) for body in list(self.bodies)):
                return True
            time.sleep(0.1)
        return False

    def close(self):
        self._server.shutdown()


def stream_results(session, call_ids, timeout):
    """The results of the stream calls call_ids, by call_id, as they come (in any order)."""
    got = {}
    deadline = time.time() + timeout
    while set(got) != set(call_ids) and time.time() < deadline:
        event = session.next_event(max(0.0, deadline - time.time()))
        if event is None or isinstance(event, Exception):
            break
        kind = event.WhichOneof("event")
        if kind in ("acquire_result", "release_result"):
            result = getattr(event, kind)
            got[result.call_id] = result
    return got


def duration(seconds):
    d = duration_pb2.Duration()
    d.FromMilliseconds(int(seconds * 1000))
    return d


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", help="the broker, HOST:PORT")
    parser.add_argument("--cluster", help="the members of a cluster, HOST:PORT,HOST:PORT,...")
    parser.add_argument("--otlp-port", type=int,
                        help="receive the daemon's spans on this port (its tracing.otlp.endpoint)")
    args = parser.parse_args()
    if bool(args.target) == bool(args.cluster):
        parser.error("give --target (one daemon) or --cluster (its members), not both")
    if args.cluster:
        c = Checks()
        cluster_checks(c, [m.strip() for m in args.cluster.split(",")])
        print("python-client (cluster): %d passed, %d failed" % (c.passed, c.failed))
        return 0 if c.failed == 0 else 1
    receiver = OtlpReceiver(args.otlp_port) if args.otlp_port else None

    channel = grpc.insecure_channel(args.target)
    grpc.channel_ready_future(channel).result(timeout=30)
    broker = broker_pb2_grpc.LeaseBrokerStub(channel)
    admin = admin_pb2_grpc.BrokerAdminStub(channel)
    c = Checks()

    session = Session(broker, "python-check")
    sid = session.opened.session_id
    c.check("hello is answered with opened", bool(sid) and not session.opened.resumed,
            str(session.opened))
    c.check("opened says how often to heartbeat", session.interval > 0)

    # RENDER: the URL's host is the rate-limit key; a wait lets the broker queue the acquire.
    render = broker.Acquire(broker_pb2.AcquireRequest(
        session_id=sid, kind=common_pb2.RESOURCE_KIND_RENDER,
        url="https://example.com/python", wait=duration(5), request_id="py-render-1"),
        timeout=10)
    granted = render.WhichOneof("result") == "granted"
    c.check("RENDER is granted", granted, str(render))
    lease = render.granted
    c.check("the lease names the host and a fencing token",
            lease.host == "example.com" and lease.fencing_token > 0, str(lease))
    again = broker.Acquire(broker_pb2.AcquireRequest(
        session_id=sid, kind=common_pb2.RESOURCE_KIND_RENDER,
        url="https://example.com/python", request_id="py-render-1"), timeout=10)
    c.check("a repeated request_id gets the first answer",
            again.granted.lease_id == lease.lease_id)

    # W3C trace context: the caller's traceparent makes the daemon's Acquire span its child.
    trace_id, caller_span = os.urandom(16).hex(), os.urandom(8).hex()
    if receiver:
        pdf = broker.Acquire(broker_pb2.AcquireRequest(
            session_id=sid, kind=common_pb2.RESOURCE_KIND_PDF), timeout=10,
            metadata=[("traceparent", "00-%s-%s-01" % (trace_id, caller_span))])
        broker.Release(broker_pb2.ReleaseRequest(
            session_id=sid, lease_id=pdf.granted.lease_id), timeout=10)

    # WASM: the lease names a module and digest; GetModule serves those bytes.
    wasm = broker.Acquire(broker_pb2.AcquireRequest(
        session_id=sid, kind=common_pb2.RESOURCE_KIND_WASM), timeout=10).granted
    module = broker.GetModule(broker_pb2.GetModuleRequest(
        name=wasm.module, digest=wasm.module_digest), timeout=10)
    c.check("GetModule serves the bytes the WASM lease's digest names",
            wasm.module == "extractor"
            and hashlib.sha256(module.wasm).hexdigest() == wasm.module_digest
            and "extract" in module.exports,
            "module=%s digest=%s" % (wasm.module, wasm.module_digest))
    try:
        broker.GetModule(broker_pb2.GetModuleRequest(name="no-such-module"), timeout=10)
        c.check("GetModule of an unknown module is NOT_FOUND", False, "it answered")
    except grpc.RpcError as e:
        c.check("GetModule of an unknown module is NOT_FOUND",
                e.code() == grpc.StatusCode.NOT_FOUND, str(e.code()))

    # Heartbeats keep the session; the broker acknowledges each.
    deadline = time.time() + 4 * session.interval + 2
    while not session.acks and time.time() < deadline:
        time.sleep(0.05)
    c.check("heartbeats are acknowledged", bool(session.acks))

    # An operator revokes the WASM lease: the worker hears it on its stream and acks it.
    admin.RevokeLease(admin_pb2.RevokeLeaseRequest(
        lease_id=wasm.lease_id, reason=common_pb2.REVOKE_REASON_ADMIN), timeout=10)
    event = session.next_event(10)
    c.check("a revoke is pushed down the session stream",
            event is not None and not isinstance(event, Exception)
            and event.WhichOneof("event") == "revoke"
            and event.revoke.lease_id == wasm.lease_id
            and event.revoke.reason == common_pb2.REVOKE_REASON_ADMIN, str(event))

    # Release with the outcome; a second release reports how it ended.
    outcome = common_pb2.Outcome(success=True, duration=duration(0.25), http_status=200)
    released = broker.Release(broker_pb2.ReleaseRequest(
        session_id=sid, lease_id=lease.lease_id, outcome=outcome), timeout=10)
    c.check("release returns the lease", released.released)
    twice = broker.Release(broker_pb2.ReleaseRequest(
        session_id=sid, lease_id=lease.lease_id), timeout=10)
    c.check("release is idempotent",
            not twice.released and twice.ended_by == common_pb2.LEASE_END_RELEASED, str(twice))

    # Leases on the session stream: two acquires pipelined, answered by call_id in any order,
    # then their releases; a failing call gets its error and the stream stays open.
    session.send(broker_pb2.SessionRequest(acquire=broker_pb2.StreamAcquire(
        call_id=101, request=broker_pb2.AcquireRequest(
            kind=common_pb2.RESOURCE_KIND_RENDER, url="https://stream.example.org/a",
            request_id="py-stream-render"))))
    session.send(broker_pb2.SessionRequest(acquire=broker_pb2.StreamAcquire(
        call_id=102, request=broker_pb2.AcquireRequest(kind=common_pb2.RESOURCE_KIND_PDF))))
    session.send(broker_pb2.SessionRequest(acquire=broker_pb2.StreamAcquire(
        call_id=103, request=broker_pb2.AcquireRequest(kind=common_pb2.RESOURCE_KIND_RENDER))))
    got = stream_results(session, {101, 102, 103}, 10)
    c.check("pipelined stream acquires are answered by their call_id",
            set(got) == {101, 102, 103}, str(got))
    granted = {i: got[i].response.granted for i in (101, 102)
               if i in got and got[i].WhichOneof("outcome") == "response"
               and got[i].response.WhichOneof("result") == "granted"}
    c.check("stream acquires are granted for the stream's session",
            len(granted) == 2 and all(g.session_id == sid for g in granted.values()), str(got))
    c.check("a failing stream call gets its CallError (RENDER without url)",
            103 in got and got[103].WhichOneof("outcome") == "error"
            and got[103].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
            and "url" in got[103].error.message, str(got.get(103)))
    for n, g in enumerate(granted.values()):
        session.send(broker_pb2.SessionRequest(release=broker_pb2.StreamRelease(
            call_id=201 + n, request=broker_pb2.ReleaseRequest(lease_id=g.lease_id))))
    released = stream_results(session, {201, 202}, 10)
    c.check("stream releases return the leases",
            len(released) == 2 and all(r.WhichOneof("outcome") == "response"
                                       and r.response.released for r in released.values()),
            str(released))

    # Goodbye ends the session: nothing is left at the broker.
    c.check("goodbye closes the stream", session.goodbye())
    leases = admin.ListLeases(admin_pb2.ListLeasesRequest(worker_id="python-check"), timeout=10)
    sessions = admin.ListSessions(admin_pb2.ListSessionsRequest(worker_id="python-check"),
                                  timeout=10)
    c.check("no lease or session is left", not leases.leases and not sessions.sessions)

    if receiver:
        # The daemon batches spans and sends them within seconds.
        c.check("the daemon's span of a traced acquire joins the caller's trace",
                receiver.wait_for([bytes.fromhex(trace_id), bytes.fromhex(caller_span),
                                   b"Acquire"], 20),
                "%d exports received, none with trace %s" % (len(receiver.bodies), trace_id))
        receiver.close()

    channel.close()
    print("python-client: %d passed, %d failed" % (c.passed, c.failed))
    return 0 if c.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
