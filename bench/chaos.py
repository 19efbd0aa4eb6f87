#!/usr/bin/env python3
"""Fault-injection load test driver for tier3. Started by bench/chaos.sh.

Runs, for --duration seconds, on loopback only:
  * --users virtual users (customers in 4 organizations, agents, admins, developers, triage
    leads) looping over reads and writes over HTTP; every write carries a unique marker;
  * --subscribers graphql-transport-ws clients on `ticketUpdates(after:)` with staff tokens,
    reconnecting and resuming from the highest cursor they received whenever their socket
    closes (server shutdown, errors, and a deliberate client-side drop of each one);
  * the fault schedule: at 25% PostgreSQL is stopped (`pg_ctl stop -m fast`) for ~5 s and
    started again; at 60% the server gets SIGTERM, is waited for and started again.
Then it checks, against the database (psql):
  (a) every acknowledged write is there, exactly once (tickets and comments by marker and id,
      status changes by their STATUS_CHANGED event);
  (b) every subscriber got exactly the ticket events of the event table from its start on:
      no gaps, no duplicates, nothing that is not in the table;
  (c) every exchange the server accepted was answered with data or a clean error
      (errors[*].extensions.code one of the API's codes, no SQL or internals in messages).
Prints a summary, writes it as JSON to --results, exits 1 if anything was lost or failed.

Subscribers, by design: the first `max(1, min(2, N // 5))` start live (`after: null`) and
are checked against the events from the first one they received on; the others start at
staggered times during the first half of the run with `after` = the cursor of event 0, so
they replay the whole log and then go live while writes continue, and are checked against
every ticket event. On every reconnect/resubscribe a subscriber passes the last cursor it
has received: events arrive in log order, (writing transaction, id), so the last is the
highest position, and ids alone may arrive out of order (a transaction that took an id
early and committed late is delivered late, after higher ids).

Exchange classification (HTTP, one request per fresh TCP connection, no keep-alive, so a
dropped connection can only mean the server closed one it had accepted):
  ok            HTTP 200, JSON, no errors, the root field non-null
  clean error   JSON with errors, every one with one of the API's codes and no internals
  not accepted  connection refused (server down); retried with the same marker
  dropped       the connection was closed or reset before a response: not a failure only if
                it happened while the server was shutting down and (for writes) the write is
                not in the database (the request was never read); otherwise a failure
  timeout       no answer within 45 s (the server's own limit is 30 s): a failure
  failure       anything else: non-JSON body, error without a code, leaked internals,
                a status without errors, no data and no errors.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import datetime as dt
import json
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import time
import uuid

import aiohttp
import jwt
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

CODES = {
    "UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "BAD_USER_INPUT", "INVALID_TRANSITION",
    "CONFLICT", "RATE_LIMITED", "INTERNAL_SERVER_ERROR",
}
LEAK_CI = re.compile(
    r"sqlx|sea.?orm|postgres|connection|error returned from database|pool timed out|"
    r"relation \"|syntax error|panicked|dberr|recordnotfound|tokio|backtrace|\.rs:\d",
    re.I,
)
LEAK_CS = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|FROM|WHERE)\b")
ORGS = [f"chaos-org-{i}" for i in range(4)]
STATUSES = ["NEW", "OPEN", "PENDING", "ON_HOLD", "SOLVED", "CLOSED"]
# What updateTicket may move a ticket to (src/domain/transitions.rs). CLOSED is rare below.
NEXT = {
    "NEW": ["OPEN", "PENDING", "ON_HOLD", "SOLVED"],
    "OPEN": ["PENDING", "ON_HOLD", "SOLVED"],
    "PENDING": ["OPEN", "ON_HOLD", "SOLVED"],
    "ON_HOLD": ["OPEN", "PENDING", "SOLVED"],
    "SOLVED": ["OPEN", "CLOSED"],
    "CLOSED": [],
}
HTTP_TIMEOUT = 45.0

Q_LIST = """query { tickets(first: 20) { nodes { id number subject status
  comments(first: 3) { nodes { body author { name } } } } } }"""
Q_ONE = """query($id: ID!) { ticket(id: $id) { id number subject status
  comments(first: 3) { nodes { body author { name } } } } }"""
M_CREATE = """mutation($s: String!, $d: String!) { createTicket(input: {subject: $s, description: $d})
  { ticket { id number status } } }"""
M_COMMENT = """mutation($t: ID!, $b: String!, $p: Boolean!) {
  addComment(input: {ticketId: $t, body: $b, public: $p}) { comment { id } ticket { id status } } }"""
M_UPDATE = """mutation($t: ID!, $st: TicketStatus!) { updateTicket(input: {ticketId: $t, status: $st})
  { ticket { id status } } }"""
S_UPDATES = """subscription($after: String) { ticketUpdates(after: $after) { cursor kind ticket { id } } }"""


def b64id(gid: str) -> tuple[str, int] | None:
    try:
        kind, num = base64.b64decode(gid).decode().split(":", 1)
        return kind, int(num)
    except Exception:  # noqa: BLE001
        return None


def cursor_of(n: int) -> str:
    """The start of the log (n = 0) as an event cursor."""
    return base64.b64encode(f"event:0:{n}".encode()).decode()


def position_of(cursor: str) -> tuple[int, int] | None:
    """(transaction, id) of a `TicketEvent.cursor`."""
    try:
        kind, tx, num = base64.b64decode(cursor).decode().split(":")
        return (int(tx), int(num)) if kind == "event" else None
    except Exception:  # noqa: BLE001
        return None


def leaks(msg: str) -> bool:
    return bool(LEAK_CI.search(msg) or LEAK_CS.search(msg))


class Clock:
    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.wall0 = time.time()

    def now(self) -> float:
        return time.monotonic() - self.t0

    def wall(self, t: float) -> str:
        return dt.datetime.fromtimestamp(self.wall0 + t, dt.timezone.utc).isoformat(timespec="milliseconds")


class Stats:
    def __init__(self) -> None:
        self.requests = 0  # every HTTP attempt
        self.ok = 0
        self.clean = collections.Counter()  # code -> n
        self.clean_messages = collections.Counter()  # (code, message) -> n
        self.not_accepted = 0
        self.abandoned = 0  # never accepted before the end of the run
        self.dropped: list[dict] = []
        self.timeouts: list[dict] = []
        self.failures: list[dict] = []  # classification failures
        self.by_op = collections.defaultdict(collections.Counter)
        self.latencies: list[float] = []


class Run:
    def __init__(self, args: argparse.Namespace) -> None:
        self.a = args
        self.clock = Clock()
        self.stats = Stats()
        self.writes: list[dict] = []
        self.faults: list[dict] = []
        self.server_events: list[dict] = []
        self.shutdown_windows: list[list[float]] = []  # [sigterm, ready] (ready None while down)
        self.proc: subprocess.Popen | None = None
        self.server_log = open(args.server_log, "ab")
        self.expected_exit = False
        self.load_over = asyncio.Event()
        self.stop_subs = asyncio.Event()
        self.tickets: dict[str, str] = {}  # ticket gid -> last seen status (shared by staff)
        self.rng = random.Random(args.seed)
        self.problems: list[str] = []

    # ---------------------------------------------------------------- server process
    def start_server(self) -> None:
        self.proc = subprocess.Popen(
            [self.a.server_bin, "serve"], stdout=self.server_log, stderr=self.server_log,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        with open(self.a.server_pidfile, "w") as f:
            f.write(str(self.proc.pid))
        self.server_events.append({"t": round(self.clock.now(), 3), "event": "started", "pid": self.proc.pid})

    async def wait_ready(self, limit: float = 60.0) -> float | None:
        start = self.clock.now()
        async with aiohttp.ClientSession() as s:
            while self.clock.now() - start < limit:
                if self.proc and self.proc.poll() is not None:
                    return None
                try:
                    async with s.get(self.a.url + "/readyz", timeout=aiohttp.ClientTimeout(total=2)) as r:
                        if r.status == 200:
                            return self.clock.now()
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    pass
                await asyncio.sleep(0.05)
        return None

    async def watchdog(self) -> None:
        while not self.stop_subs.is_set():
            await asyncio.sleep(0.2)
            p = self.proc
            if p and p.poll() is not None and not self.expected_exit:
                t = self.clock.now()
                msg = f"server exited unexpectedly at t={t:.1f}s with code {p.returncode}; restarting"
                self.problems.append(msg)
                print("chaos: " + msg, file=sys.stderr)
                self.server_events.append({"t": round(t, 3), "event": "unexpected exit", "code": p.returncode})
                self.start_server()
                await self.wait_ready()

    # ---------------------------------------------------------------- faults
    async def sleep_until(self, t: float) -> None:
        d = t - self.clock.now()
        if d > 0:
            await asyncio.sleep(d)

    async def shell(self, cmd: str) -> tuple[int, float, str]:
        t = self.clock.now()
        p = await asyncio.create_subprocess_exec(
            cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await p.communicate()
        return p.returncode, self.clock.now() - t, out.decode(errors="replace").strip()[-300:]

    async def fault_schedule(self) -> None:
        d = self.a.duration
        # 1. PostgreSQL down for ~5 s.
        await self.sleep_until(0.25 * d)
        t_stop = self.clock.now()
        rc, took, out = await self.shell(self.a.pg_stop)
        print(f"chaos: t={t_stop:6.1f}s  PostgreSQL stop (fast): rc={rc} in {took:.2f}s", file=sys.stderr)
        if rc != 0:
            self.problems.append(f"pg_ctl stop failed: {out}")
        await asyncio.sleep(self.a.db_down)
        t_start = self.clock.now()
        rc2, took2, out2 = await self.shell(self.a.pg_start)
        print(f"chaos: t={t_start:6.1f}s  PostgreSQL start: rc={rc2} in {took2:.2f}s", file=sys.stderr)
        if rc2 != 0:
            self.problems.append(f"pg_ctl start failed: {out2}")
        self.faults.append({
            "fault": "database stopped and started",
            "stop_at_s": round(t_stop, 3), "stop_wall": self.clock.wall(t_stop), "stop_rc": rc,
            "start_at_s": round(t_start, 3), "start_wall": self.clock.wall(t_start), "start_rc": rc2,
            "down_s": round(t_start + took2 - t_stop, 3),
        })
        # 2. SIGTERM the server, wait for it, start it again.
        await self.sleep_until(0.60 * d)
        p = self.proc
        assert p is not None
        self.expected_exit = True
        t_term = self.clock.now()
        self.shutdown_windows.append([t_term, None])
        p.send_signal(signal.SIGTERM)
        print(f"chaos: t={t_term:6.1f}s  SIGTERM to server pid {p.pid}", file=sys.stderr)
        limit = self.a.grace + 10
        code = None
        while self.clock.now() - t_term < limit:
            code = p.poll()
            if code is not None:
                break
            await asyncio.sleep(0.01)
        exited = self.clock.now()
        killed = False
        if code is None:
            killed = True
            p.kill()
            code = p.wait()
            self.problems.append(f"server did not exit within {limit}s of SIGTERM (killed)")
        took = exited - t_term
        print(f"chaos: t={exited:6.1f}s  server exited with code {code} after {took:.2f}s", file=sys.stderr)
        if code != 0:
            self.problems.append(f"server exited with code {code} after SIGTERM")
        self.server_events.append({"t": round(exited, 3), "event": "exited after SIGTERM", "code": code,
                                   "shutdown_s": round(took, 3), "killed": killed})
        self.start_server()
        self.expected_exit = False
        ready = await self.wait_ready()
        if ready is None:
            self.problems.append("restarted server never became ready")
            ready = self.clock.now()
        self.shutdown_windows[-1][1] = ready
        print(f"chaos: t={ready:6.1f}s  server ready again ({ready - t_term:.2f}s after SIGTERM)", file=sys.stderr)
        self.faults.append({
            "fault": "server SIGTERM and restart",
            "sigterm_at_s": round(t_term, 3), "sigterm_wall": self.clock.wall(t_term),
            "exit_code": code, "shutdown_s": round(took, 3), "killed": killed,
            "ready_again_at_s": round(ready, 3), "unavailable_s": round(ready - t_term, 3),
        })

    def in_shutdown(self, t0: float, t1: float) -> bool:
        for start, end in self.shutdown_windows:
            end = end if end is not None else float("inf")
            if t1 >= start - 0.5 and t0 <= end + 0.5:
                return True
        return False

    # ---------------------------------------------------------------- HTTP
    async def gql(self, session: aiohttp.ClientSession, token: str, op: str, query: str,
                  variables: dict, field: str, write: dict | None = None) -> dict | None:
        """One logical request, retried while refused. Returns the body when ok, else None."""
        st = self.stats
        give_up = self.a.duration + 15
        while True:
            st.requests += 1
            st.by_op[op]["requests"] += 1
            t0 = self.clock.now()
            try:
                async with session.post(
                    self.a.url + "/graphql",
                    json={"query": query, "variables": variables},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT),
                ) as resp:
                    raw = await resp.read()
                    status = resp.status
            except aiohttp.ClientConnectorError:
                st.not_accepted += 1
                st.by_op[op]["not_accepted"] += 1
                if self.clock.now() > give_up:
                    st.abandoned += 1
                    if write is not None:
                        write["outcome"] = "abandoned"
                    return None
                await asyncio.sleep(self.rng.uniform(0.1, 0.4))
                continue
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, aiohttp.ClientPayloadError) as e:
                t1 = self.clock.now()
                rec = {"op": op, "t": round(t0, 3), "t_end": round(t1, 3), "error": f"{type(e).__name__}: {e}",
                       "during_shutdown": self.in_shutdown(t0, t1),
                       "marker": write.get("marker") if write else None}
                st.dropped.append(rec)
                st.by_op[op]["dropped"] += 1
                if write is not None:
                    write["outcome"] = "dropped"
                    write["dropped"] = rec
                return None
            except asyncio.TimeoutError:
                rec = {"op": op, "t": round(t0, 3), "marker": write.get("marker") if write else None}
                st.timeouts.append(rec)
                st.by_op[op]["timeout"] += 1
                if write is not None:
                    write["outcome"] = "timeout"
                return None
            except aiohttp.ClientError as e:
                rec = {"op": op, "t": round(t0, 3), "why": f"client error {type(e).__name__}: {e}"}
                st.failures.append(rec)
                st.by_op[op]["failure"] += 1
                if write is not None:
                    write["outcome"] = "failure"
                return None
            st.latencies.append(self.clock.now() - t0)
            kind, detail, body = self.classify(status, raw, field)
            if kind == "ok":
                st.ok += 1
                st.by_op[op]["ok"] += 1
                if write is not None:
                    write["outcome"] = "acknowledged"
                return body
            if kind == "clean":
                code, msg = detail
                st.clean[code] += 1
                st.clean_messages[(code, msg[:120])] += 1
                st.by_op[op]["clean_error"] += 1
                if write is not None:
                    write["outcome"] = "clean_error"
                    write["code"] = code
                return None
            st.failures.append({"op": op, "t": round(t0, 3), "status": status, "why": detail,
                                "marker": write.get("marker") if write else None})
            st.by_op[op]["failure"] += 1
            if write is not None:
                write["outcome"] = "failure"
            return None

    @staticmethod
    def classify(status: int, raw: bytes, field: str):
        try:
            body = json.loads(raw)
        except ValueError:
            return "failure", f"HTTP {status} with a non-JSON body: {raw[:200]!r}", None
        if not isinstance(body, dict):
            return "failure", f"HTTP {status} with JSON that is not an object: {raw[:200]!r}", None
        errors = body.get("errors") or []
        if errors:
            first = None
            for e in errors:
                ext = e.get("extensions") or {} if isinstance(e, dict) else {}
                code = ext.get("code") if isinstance(ext, dict) else None
                msg = str(e.get("message", "")) if isinstance(e, dict) else str(e)
                if code not in CODES:
                    return "failure", f"HTTP {status} error without one of the API's codes: {json.dumps(e)[:300]}", body
                if leaks(msg) or leaks(json.dumps(ext)):
                    return "failure", f"HTTP {status} {code} leaks internals: {json.dumps(e)[:300]}", body
                first = first or (code, msg)
            return "clean", first, body
        if status != 200:
            return "failure", f"HTTP {status} without errors: {raw[:200]!r}", body
        data = body.get("data")
        if not isinstance(data, dict) or data.get(field) is None:
            return "failure", f"HTTP 200 with neither `{field}` nor errors: {raw[:200]!r}", body
        return "ok", None, body

    # ---------------------------------------------------------------- users
    def token(self, sub: str, role: str, org: str | None = None) -> str:
        claims = {"sub": sub, "role": role, "name": sub.replace("-", " ").title(),
                  "email": f"{sub}@chaos.example", "exp": int(time.time() + self.a.duration + 3600)}
        if org:
            claims["org"] = org
        return jwt.encode(claims, self.a.secret, algorithm="HS256")

    def roster(self) -> list[tuple[str, str, str | None]]:
        n = self.a.users
        roles = []
        for i in range(n):
            r = i % 20
            if r < 12:
                roles.append("customer")
            elif r < 17:
                roles.append("agent")
            elif r == 17:
                roles.append("admin")
            elif r == 18:
                roles.append("developer")
            else:
                roles.append("triage_lead")
        out = []
        for i, role in enumerate(roles):
            sub = f"chaos-{role.replace('_', '')}-{i}"
            out.append((sub, role, ORGS[i % len(ORGS)] if role == "customer" else None))
        return out

    def new_write(self, op: str, sub: str, **kw) -> dict:
        w = {"op": op, "actor": sub, "marker": uuid.uuid4().hex, "t": round(self.clock.now(), 3),
             "outcome": "pending", **kw}
        self.writes.append(w)
        return w

    def remember(self, body: dict | None, own: dict | None = None) -> None:
        if not body:
            return
        data = body.get("data") or {}
        nodes = []
        if data.get("tickets"):
            nodes = data["tickets"].get("nodes") or []
        elif data.get("ticket"):
            nodes = [data["ticket"]]
        for n in nodes:
            if n and n.get("id") and n.get("status"):
                self.tickets[n["id"]] = n["status"]
                if own is not None:
                    own[n["id"]] = n["status"]

    async def user(self, sub: str, role: str, org: str | None) -> None:
        tok = self.token(sub, role, org)
        own: dict[str, str] = {}  # customer: own ticket gid -> status
        rng = random.Random(f"{self.a.seed}-{sub}")
        conn = aiohttp.TCPConnector(force_close=True, limit=0)
        async with aiohttp.ClientSession(connector=conn) as s:
            await asyncio.sleep(rng.uniform(0, 1.0))
            while not self.load_over.is_set():
                x = rng.random()
                if role == "customer":
                    if x < 0.35 or (not own and x < 0.6):
                        self.remember(await self.gql(s, tok, "read tickets", Q_LIST, {}, "tickets"), own)
                    elif x < 0.5 and own:
                        gid = rng.choice(list(own))
                        self.remember(await self.gql(s, tok, "read ticket", Q_ONE, {"id": gid}, "ticket"), own)
                    elif x < 0.75 or not own:
                        w = self.new_write("createTicket", sub)
                        body = await self.gql(s, tok, "createTicket", M_CREATE,
                                              {"s": f"chaos {w['marker']}",
                                               "d": f"Load test ticket {w['marker']} from {sub}"},
                                              "createTicket", w)
                        if body:
                            t = body["data"]["createTicket"]["ticket"]
                            w["gid"] = t["id"]
                            own[t["id"]] = t["status"]
                            self.tickets[t["id"]] = t["status"]
                    elif x < 0.95:
                        gid = rng.choice(list(own))
                        w = self.new_write("addComment", sub, ticket=gid, public=True)
                        body = await self.gql(s, tok, "addComment", M_COMMENT,
                                              {"t": gid, "b": f"customer reply {w['marker']}", "p": True},
                                              "addComment", w)
                        if body:
                            w["gid"] = body["data"]["addComment"]["comment"]["id"]
                            own[gid] = body["data"]["addComment"]["ticket"]["status"]
                    else:
                        gid = rng.choice(list(own))
                        w = self.new_write("updateTicket", sub, ticket=gid, to="SOLVED", prev=own.get(gid))
                        body = await self.gql(s, tok, "updateTicket", M_UPDATE, {"t": gid, "st": "SOLVED"},
                                              "updateTicket", w)
                        if body:
                            own[gid] = body["data"]["updateTicket"]["ticket"]["status"]
                elif role in ("agent", "admin"):
                    known = list(self.tickets)
                    if x < 0.35 or not known:
                        self.remember(await self.gql(s, tok, "read tickets", Q_LIST, {}, "tickets"))
                    elif x < 0.5:
                        gid = rng.choice(known)
                        self.remember(await self.gql(s, tok, "read ticket", Q_ONE, {"id": gid}, "ticket"))
                    elif x < 0.8:
                        gid = rng.choice(known[-60:])
                        cur = self.tickets.get(gid, "NEW")
                        options = [o for o in NEXT.get(cur, []) if o != "CLOSED" or rng.random() < 0.1]
                        to = rng.choice(options or ["OPEN"])
                        w = self.new_write("updateTicket", sub, ticket=gid, to=to, prev=cur)
                        body = await self.gql(s, tok, "updateTicket", M_UPDATE, {"t": gid, "st": to},
                                              "updateTicket", w)
                        if body:
                            self.tickets[gid] = body["data"]["updateTicket"]["ticket"]["status"]
                    else:
                        gid = rng.choice(known[-60:])
                        public = rng.random() < 0.2
                        w = self.new_write("addComment", sub, ticket=gid, public=public)
                        body = await self.gql(s, tok, "addComment", M_COMMENT,
                                              {"t": gid, "b": f"{'agent reply' if public else 'internal note'} {w['marker']}",
                                               "p": public}, "addComment", w)
                        if body:
                            w["gid"] = body["data"]["addComment"]["comment"]["id"]
                else:  # developer, triage lead: readers
                    known = list(self.tickets)
                    if x < 0.6 or not known:
                        self.remember(await self.gql(s, tok, "read tickets", Q_LIST, {}, "tickets"))
                    else:
                        gid = rng.choice(known)
                        self.remember(await self.gql(s, tok, "read ticket", Q_ONE, {"id": gid}, "ticket"))
                await asyncio.sleep(rng.uniform(0.02, 0.12))

    # ---------------------------------------------------------------- subscribers
    def new_sub(self, i: int, n_live: int) -> dict:
        live = i < n_live
        d = self.a.duration
        start = self.rng.uniform(0, 0.05 * d) if live else self.rng.uniform(0, 0.5 * d)
        return {
            "index": i, "role": "admin" if i % 3 == 2 else "agent", "live_only": live,
            "start_at": round(start, 3),
            # one deliberate client-side drop (socket aborted) per subscriber
            "drop_at": round(self.rng.uniform(max(start, 0.1 * d) + 1, 0.9 * d), 3),
            "dropped_by_client": 0,
            "received": [], "seen": set(), "max_id": None, "first_id": None,
            "duplicates": 0, "out_of_order": 0,
            "connects": 0, "connect_failures": 0, "acks": 0, "subscribes": 0,
            "closes": collections.Counter(), "errors": collections.Counter(), "completes": 0,
            "protocol_failures": [],
            "log": [],  # (t, what, detail): connects, subscribes (with `after`), closes, drops
            "times": [],  # receive time of each entry of `received`
        }

    async def subscriber(self, sub: dict) -> None:
        tok = self.token(f"chaos-sub-{sub['index']}", sub["role"])
        ws_url = self.a.url.replace("http://", "ws://") + "/graphql/ws"
        await self.sleep_until(sub["start_at"])
        backoff = 0.1
        op_id = 0
        while not self.stop_subs.is_set():
            try:
                async with ws_connect(ws_url, subprotocols=["graphql-transport-ws"], proxy=None,
                                      open_timeout=5, ping_interval=10, ping_timeout=20,
                                      close_timeout=2, max_size=None, compression=None) as ws:
                    sub["connects"] += 1
                    sub["log"].append((round(self.clock.now(), 3), "connected", None))
                    await ws.send(json.dumps({"type": "connection_init", "payload": {"token": tok}}))
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    if msg.get("type") != "connection_ack":
                        sub["protocol_failures"].append(f"expected connection_ack, got {msg}")
                        raise RuntimeError("no ack")
                    sub["acks"] += 1
                    backoff = 0.1

                    async def subscribe() -> None:
                        nonlocal op_id
                        op_id += 1
                        if sub.get("last_cursor") is not None:
                            after = sub["last_cursor"]
                        else:
                            after = None if sub["live_only"] else cursor_of(0)
                        sub["subscribes"] += 1
                        sub["log"].append((round(self.clock.now(), 3), "subscribe after",
                                           sub["max_id"] if sub["max_id"] is not None else (None if sub["live_only"] else 0)))
                        await ws.send(json.dumps({"id": str(op_id), "type": "subscribe",
                                                  "payload": {"query": S_UPDATES, "variables": {"after": after}}}))

                    await subscribe()
                    while True:
                        if self.stop_subs.is_set():
                            await ws.send(json.dumps({"id": str(op_id), "type": "complete"}))
                            await ws.close()
                            return
                        if sub["drop_at"] is not None and self.clock.now() >= sub["drop_at"]:
                            sub["drop_at"] = None
                            sub["dropped_by_client"] += 1
                            sub["log"].append((round(self.clock.now(), 3), "client drop", None))
                            ws.transport.abort()
                            break
                        try:
                            raw = await asyncio.wait_for(ws.recv(), 0.25)
                        except asyncio.TimeoutError:
                            continue
                        msg = json.loads(raw)
                        typ = msg.get("type")
                        if typ == "ping":
                            await ws.send(json.dumps({"type": "pong"}))
                        elif typ == "pong":
                            pass
                        elif typ == "next":
                            if msg.get("id") != str(op_id):
                                continue  # a late item of a subscription we gave up on
                            payload = msg.get("payload") or {}
                            if payload.get("errors"):
                                sub["log"].append((round(self.clock.now(), 3), "next with errors",
                                                   str(payload.get("errors"))[:200]))
                            for e in payload.get("errors") or []:
                                ext = e.get("extensions") or {}
                                code = ext.get("code")
                                sub["errors"][code or "no code"] += 1
                                if code not in CODES or leaks(str(e.get("message", ""))):
                                    sub["protocol_failures"].append(f"subscription error: {json.dumps(e)[:300]}")
                            ev = (payload.get("data") or {}).get("ticketUpdates")
                            if ev:
                                pos = position_of(ev["cursor"])
                                if not pos:
                                    sub["protocol_failures"].append(f"undecodable cursor {ev['cursor']}")
                                    continue
                                n = pos[1]
                                if sub.get("max_pos") is not None and pos < sub["max_pos"]:
                                    sub["out_of_order"] += 1
                                sub["max_pos"] = pos if sub.get("max_pos") is None else max(sub["max_pos"], pos)
                                sub["last_cursor"] = ev["cursor"]
                                if n in sub["seen"]:
                                    sub["duplicates"] += 1
                                else:
                                    sub["seen"].add(n)
                                sub["received"].append(n)
                                sub["times"].append(round(self.clock.now(), 3))
                                if sub["first_id"] is None:
                                    sub["first_id"] = n
                                sub["max_id"] = n if sub["max_id"] is None else max(sub["max_id"], n)
                        elif typ == "error":
                            if msg.get("id") != str(op_id):
                                continue
                            sub["log"].append((round(self.clock.now(), 3), "error", str(msg.get("payload"))[:200]))
                            for e in msg.get("payload") or []:
                                code = (e.get("extensions") or {}).get("code")
                                sub["errors"][code or "no code"] += 1
                                if code not in CODES or leaks(str(e.get("message", ""))):
                                    sub["protocol_failures"].append(f"subscription error: {json.dumps(e)[:300]}")
                            await asyncio.sleep(backoff)
                            backoff = min(backoff * 2, 2.0)
                            await subscribe()
                        elif typ == "complete":
                            if msg.get("id") != str(op_id):
                                continue
                            sub["completes"] += 1
                            sub["log"].append((round(self.clock.now(), 3), "complete", None))
                            await asyncio.sleep(backoff)
                            backoff = min(backoff * 2, 2.0)
                            await subscribe()
                        else:
                            sub["protocol_failures"].append(f"unexpected message {str(msg)[:200]}")
            except ConnectionClosed as e:
                code = e.rcvd.code if e.rcvd is not None else "abnormal (no close frame)"
                sub["closes"][str(code)] += 1
                sub["log"].append((round(self.clock.now(), 3), "closed", str(code)))
            except (OSError, InvalidHandshake, asyncio.TimeoutError, RuntimeError, ValueError) as e:
                sub["connect_failures"] += 1
                sub["closes"][type(e).__name__] += 1
                sub["log"].append((round(self.clock.now(), 3), "connect failed", type(e).__name__))
            if self.stop_subs.is_set():
                return
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    # ---------------------------------------------------------------- database checks
    def psql(self, sql: str) -> list[list[str]]:
        cmd = shlex.split(self.a.psql) + ["-A", "-t", "-F", "\x1f", "-R", "\x1e", "-c", sql]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        return [r.split("\x1f") for r in out.split("\x1e") if r.strip("\n")]

    async def max_ticket_event(self) -> int:
        rows = await asyncio.to_thread(self.psql, "SELECT coalesce(max(id), 0) FROM event WHERE ticket_id IS NOT NULL")
        return int(rows[0][0])

    def verify_writes(self) -> dict:
        tickets = self.psql("SELECT id, subject FROM ticket")
        comments = self.psql("SELECT id, ticket_id, body, public FROM comment")
        changes = self.psql(
            "SELECT e.ticket_id, e.to_status, u.sub, count(*) FROM event e JOIN app_user u ON u.id = e.actor_id "
            "WHERE e.kind = 'STATUS_CHANGED' GROUP BY 1, 2, 3")
        by_marker: dict[str, list[tuple[str, int]]] = collections.defaultdict(list)
        mk = re.compile(r"[0-9a-f]{32}")
        for tid, subject in tickets:
            for m in mk.findall(subject):
                by_marker[m].append(("ticket", int(tid)))
        for cid, _tid, body, _pub in comments:
            for m in mk.findall(body):
                by_marker[m].append(("comment", int(cid)))
        status_events = collections.Counter()
        for tid, to, sub, n in changes:
            status_events[(int(tid), to, sub)] += int(n)
        acked_changes = collections.Counter()
        res = collections.Counter()
        lost, duplicated, bad = [], [], []
        for w in self.writes:
            o = w["outcome"]
            res[f"{w['op']} {o}"] += 1
            if w["op"] in ("createTicket", "addComment"):
                rows = by_marker.get(w["marker"], [])
                w["in_db"] = len(rows)
                if len(rows) > 1:
                    duplicated.append(w)
                if o == "acknowledged":
                    want = ("ticket" if w["op"] == "createTicket" else "comment")
                    gid = b64id(w.get("gid", "")) if w.get("gid") else None
                    if not rows:
                        lost.append(w)
                    elif not gid or (want, gid[1]) not in rows:
                        bad.append({**w, "why": f"returned id {gid} but the marker is on {rows}"})
            elif w["op"] == "updateTicket":
                if o == "acknowledged":
                    gid = b64id(w["ticket"])
                    acked_changes[(gid[1], w["to"], w["actor"])] += 1
        for key, n in acked_changes.items():
            have = status_events.get(key, 0)
            if have < n:
                lost.append({"op": "updateTicket", "ticket_id": key[0], "to": key[1], "actor": key[2],
                             "acknowledged": n, "events_in_db": have})
        acked = sum(1 for w in self.writes if w["outcome"] == "acknowledged")
        # Unacknowledged writes that nonetheless committed (markers only: creates, comments).
        committed_unacked = collections.Counter()
        executed_but_dropped = []
        wrong_error = []
        for w in self.writes:
            if w["op"] not in ("createTicket", "addComment") or w["outcome"] == "acknowledged":
                continue
            if w.get("in_db"):
                committed_unacked[f"{w['outcome']}{':' + w['code'] if w.get('code') else ''}"] += 1
                if w["outcome"] == "dropped":
                    executed_but_dropped.append(w)
                if w["outcome"] == "clean_error" and w.get("code") != "INTERNAL_SERVER_ERROR":
                    wrong_error.append(w)
        return {
            "attempted": len(self.writes),
            "acknowledged": acked,
            "found": acked - len(lost) - len(bad),
            "lost": len(lost), "lost_detail": lost[:20],
            "wrong_id": len(bad), "wrong_id_detail": bad[:20],
            "duplicated_markers": len(duplicated), "duplicated_detail": duplicated[:20],
            "outcomes": dict(sorted(res.items())),
            "committed_without_ack": dict(committed_unacked),
            "executed_but_connection_dropped": len(executed_but_dropped),
            "executed_but_dropped_detail": executed_but_dropped[:20],
            "committed_despite_non_internal_error": len(wrong_error),
            "committed_despite_non_internal_error_detail": wrong_error[:20],
            "db_tickets": len(tickets), "db_comments": len(comments),
        }

    def verify_events(self, subs: list[dict]) -> dict:
        rows = self.psql("SELECT id FROM event WHERE ticket_id IS NOT NULL ORDER BY id")
        all_ids = [int(r[0]) for r in rows]
        all_set = set(all_ids)
        # When each event reached its first subscriber (for telling apart why one was missed).
        first_seen: dict[int, float] = {}
        for s in subs:
            for i, t in zip(s["received"], s["times"]):
                if i not in first_seen or t < first_seen[i]:
                    first_seen[i] = t
        missing_all: set[int] = set()
        per = []
        for s in subs:
            if s["live_only"]:
                lo = s["first_id"]
                expected = {i for i in all_ids if lo is not None and i >= min(s["seen"] or {lo})}
            else:
                expected = all_set
            missing = sorted(expected - s["seen"])
            missing_all.update(missing)
            phantom = sorted(s["seen"] - all_set)
            # What the subscriber did around each missing event: its log, and what it
            # received just before and after that event's id.
            around = []
            # Intervals without a running subscription: from a drop, close, complete, error
            # or failed connect to the next subscribe.
            down, since = [], None
            for t, what, _ in s["log"]:
                if what in ("client drop", "closed", "complete", "error", "connect failed"):
                    since = t if since is None else since
                elif what == "subscribe after" and since is not None:
                    down.append((since, t))
                    since = None
            if since is not None:
                down.append((since, float("inf")))
            resumes = [x for x in s["log"] if x[1] == "subscribe after" and x[2] is not None]
            why = collections.Counter()
            for m in missing:
                first = first_seen.get(m)
                past = [x for x in resumes if x[2] >= m and (first is None or x[0] <= first)]
                away = first is not None and any(a - 0.05 <= first <= b + 0.05 for a, b in down)
                if first is None:
                    cause, key = "no subscriber received it", "delivered to nobody"
                elif past or away:
                    # It became visible (committed) after a higher id had been delivered
                    # (ids are taken at insert, visible at commit), while this subscriber
                    # was between subscriptions; its `after` cursor cannot name the hole.
                    r = past[0] if past else next((x for x in resumes if x[2] >= m), None)
                    cause = (f"first delivered (to another subscriber) at t={first}s while this one was "
                             f"resubscribing; it resumed with after={r[2] if r else '?'} at t={r[0] if r else '?'}s")
                    key = "resumed past a late commit"
                else:
                    cause = (f"first delivered (to another subscriber) at t={first}s while this one was "
                             "subscribed, but never to this one")
                    key = "not delivered to a running subscription"
                why[key] += 1
                if len(around) < 5:
                    order = [(i, t) for i, t in zip(s["received"], s["times"]) if abs(i - m) <= 3]
                    around.append({"missing": m, "cause": cause, "received_near_id": order})
            per.append({
                "index": s["index"], "role": s["role"], "live_only": s["live_only"],
                "start_at_s": s["start_at"], "expected": len(expected), "delivered": len(s["received"]),
                "distinct": len(s["seen"]), "missing": len(missing), "missing_ids": missing[:30],
                "duplicates": s["duplicates"], "phantom": len(phantom), "phantom_ids": phantom[:30],
                "out_of_order": s["out_of_order"], "connects": s["connects"], "acks": s["acks"],
                "subscribes": s["subscribes"], "client_drops": s["dropped_by_client"],
                "closes": dict(s["closes"]), "errors": dict(s["errors"]), "completes": s["completes"],
                "protocol_failures": s["protocol_failures"][:10],
                "missing_causes": dict(why),
                "missing_context": around,
                "log": s["log"][:60],
            })
        detail = []
        received_by = collections.Counter()
        for s in subs:
            for m in missing_all & s["seen"]:
                received_by[m] += 1
        if missing_all:
            ids = ",".join(str(i) for i in sorted(missing_all)[:50])
            for r in self.psql(f"SELECT id, kind, ticket_id, extract(epoch from created_at) FROM event WHERE id IN ({ids}) ORDER BY id"):
                detail.append({"id": int(r[0]), "kind": r[1], "ticket_id": int(r[2]),
                               "created_at_s": round(float(r[3]) - self.clock.wall0, 3),
                               "received_by_subscribers": received_by[int(r[0])],
                               "missed_by_subscribers": sum(1 for p in per if int(r[0]) in p["missing_ids"])})
        return {"events_in_db": len(all_ids), "subscribers": per, "missing_events": detail}

    def scan_log(self) -> dict:
        try:
            with open(self.a.server_log, errors="replace") as f:
                text = f.read()
        except OSError:
            return {}
        lines = re.sub(r"\x1b\[[0-9;]*m", "", text).splitlines()
        panics = [ln for ln in lines if "panicked" in ln]
        errors = [ln for ln in lines if " ERROR " in ln]
        warns = collections.Counter()
        for ln in lines:
            if " WARN " in ln:
                m = re.search(r"WARN\s+\S+:\s+(.*?)(\s+\w+=|$)", ln)
                warns[(m.group(1) if m else ln)[:100]] += 1
        return {"panics": len(panics), "panic_lines": panics[:10], "error_lines": len(errors),
                "error_samples": errors[:10], "warnings": dict(warns.most_common(15))}

    # ---------------------------------------------------------------- main
    async def main(self) -> int:
        a = self.a
        self.start_server()
        if await self.wait_ready() is None:
            print("chaos: the server did not become ready; see " + a.server_log, file=sys.stderr)
            return 2
        self.clock = Clock()  # t=0: server ready, load starts
        watchdog = asyncio.create_task(self.watchdog())
        n_live = max(1, min(2, a.subscribers // 5)) if a.subscribers else 0
        subs = [self.new_sub(i, n_live) for i in range(a.subscribers)]
        sub_tasks = [asyncio.create_task(self.subscriber(s)) for s in subs]
        users = [asyncio.create_task(self.user(*u)) for u in self.roster()]
        faults = asyncio.create_task(self.fault_schedule())
        await self.sleep_until(a.duration)
        self.load_over.set()
        print(f"chaos: t={self.clock.now():6.1f}s  load over; waiting for users' last requests", file=sys.stderr)
        await asyncio.gather(*users)
        await faults
        await asyncio.sleep(a.settle)
        # Let subscribers catch up with everything committed (bounded wait).
        target = await self.max_ticket_event()
        waited = self.clock.now()
        while self.clock.now() - waited < 30:
            if all(s["max_id"] is not None and s["max_id"] >= target for s in subs):
                break
            await asyncio.sleep(0.25)
        await asyncio.sleep(1.0)  # late (gap) events
        caught_up_after = self.clock.now() - waited
        self.stop_subs.set()
        await asyncio.wait(sub_tasks, timeout=10)
        watchdog.cancel()
        t_end = self.clock.now()

        writes = await asyncio.to_thread(self.verify_writes)
        events = await asyncio.to_thread(self.verify_events, subs)
        if self.proc and self.proc.poll() is None:
            self.expected_exit = True
            self.proc.send_signal(signal.SIGTERM)
            try:
                final_code = self.proc.wait(timeout=a.grace + 10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                final_code = self.proc.wait()
                self.problems.append("server did not exit after the final SIGTERM")
            self.server_events.append({"t": round(self.clock.now(), 3), "event": "final SIGTERM exit", "code": final_code})
        log = self.scan_log()
        return self.report(subs, writes, events, log, t_end, caught_up_after)

    def report(self, subs, writes, events, log, t_end, caught_up_after) -> int:
        st = self.stats
        a = self.a
        bad_drops = [d for d in st.dropped if not d["during_shutdown"]]
        shutdown_drops = [d for d in st.dropped if d["during_shutdown"]]
        per = events["subscribers"]
        failures = {
            "classification": len(st.failures),
            "timeouts": len(st.timeouts),
            "dropped_outside_shutdown": len(bad_drops),
            "writes_executed_but_dropped": writes["executed_but_connection_dropped"],
            "writes_committed_despite_non_internal_error": writes["committed_despite_non_internal_error"],
            "subscription_protocol": sum(len(p["protocol_failures"]) for p in per),
            "server_log_panics": log.get("panics", 0),
            "other": len(self.problems),
        }
        lost = {
            "writes_lost": writes["lost"],
            "writes_wrong_id": writes["wrong_id"],
            "writes_duplicated": writes["duplicated_markers"],
            "events_missing": sum(p["missing"] for p in per),
            "events_duplicated": sum(p["duplicates"] for p in per),
            "events_phantom": sum(p["phantom"] for p in per),
        }
        # A run that exercised nothing proves nothing.
        idle = [p["index"] for p in per if p["delivered"] == 0]
        if st.ok == 0 or writes["acknowledged"] == 0 or events["events_in_db"] == 0 or idle:
            self.problems.append(
                f"the run exercised too little: {st.ok} ok requests, {writes['acknowledged']} acknowledged "
                f"writes, {events['events_in_db']} ticket events, subscribers with no event: {idle}")
            failures["other"] = len(self.problems)
        ok = not any(failures.values()) and not any(lost.values())
        lat = sorted(st.latencies)

        def pct(p):
            return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 1) if lat else None

        delivered = [p["delivered"] for p in per]
        causes = collections.Counter()
        for p in per:
            causes.update(p["missing_causes"])
        result = {
            "ok": ok,
            "config": {"duration_s": a.duration, "users": a.users, "subscribers": a.subscribers,
                       "seed": a.seed, "server_bin": a.server_bin, "grace_s": a.grace, "db_down_s": a.db_down},
            "started": self.clock.wall(0), "elapsed_s": round(t_end, 1),
            "requests": {
                "total": st.requests, "ok": st.ok, "clean_errors": sum(st.clean.values()),
                "clean_errors_by_code": dict(st.clean),
                "clean_error_messages": {f"{c}: {m}": n for (c, m), n in st.clean_messages.most_common(15)},
                "not_accepted": st.not_accepted, "abandoned": st.abandoned,
                "dropped_during_shutdown": len(shutdown_drops), "dropped_outside_shutdown": len(bad_drops),
                "timeouts": len(st.timeouts), "failures": len(st.failures),
                "latency_ms": {"p50": pct(0.5), "p99": pct(0.99), "max": pct(1.0)},
                "by_operation": {k: dict(v) for k, v in sorted(st.by_op.items())},
                "failure_samples": st.failures[:20], "dropped_samples": st.dropped[:20],
                "timeout_samples": st.timeouts[:20],
            },
            "writes": writes,
            "events": {
                "events_in_db": events["events_in_db"],
                "delivered_min": min(delivered) if delivered else None,
                "delivered_max": max(delivered) if delivered else None,
                "missing": lost["events_missing"], "duplicates": lost["events_duplicated"],
                "phantom": lost["events_phantom"], "catch_up_wait_s": round(caught_up_after, 2),
                "missing_by_cause": dict(causes),
                "missing_events": events["missing_events"],
                "subscribers": per,
            },
            "faults": self.faults,
            "server": self.server_events,
            "server_log": log,
            "failures": failures,
            "lost": lost,
            "problems": self.problems,
        }
        os.makedirs(os.path.dirname(os.path.abspath(a.results)) or ".", exist_ok=True)
        # Every subscriber's deliveries (event id, seconds since start) and its log, for
        # looking into anything missing; kept beside the results.
        trace = os.path.splitext(a.results)[0] + "-subscribers.json"
        with open(trace, "w") as f:
            json.dump([{"index": x["index"], "live_only": x["live_only"], "log": x["log"],
                        "received": list(zip(x["received"], x["times"]))} for x in subs], f)
        with open(a.results, "w") as f:
            json.dump(result, f, indent=2, default=str)

        w = writes
        e = result["events"]
        r = result["requests"]
        print()
        print("=" * 72)
        print(f" tier3 chaos run: {a.duration}s, {a.users} users, {a.subscribers} subscribers"
              f" (seed {a.seed}), {'PASS' if ok else 'FAIL'}")
        print("=" * 72)
        rows = [
            ("requests total", r["total"]),
            ("  ok", r["ok"]),
            ("  clean errors", f"{r['clean_errors']}  {dict(st.clean)}"),
            ("  not accepted (refused, retried)", r["not_accepted"]),
            ("  dropped during shutdown", r["dropped_during_shutdown"]),
            ("  dropped outside shutdown", r["dropped_outside_shutdown"]),
            ("  timeouts", r["timeouts"]),
            ("  failures", r["failures"]),
            ("  latency p50 / p99 / max (ms)", f"{r['latency_ms']['p50']} / {r['latency_ms']['p99']} / {r['latency_ms']['max']}"),
            ("writes attempted", w["attempted"]),
            ("  acknowledged", w["acknowledged"]),
            ("  found in database", w["found"]),
            ("  lost", w["lost"]),
            ("  duplicated / wrong id", f"{w['duplicated_markers']} / {w['wrong_id']}"),
            ("  committed without ack", w["committed_without_ack"] or 0),
            ("ticket events in database", e["events_in_db"]),
            ("  delivered per subscriber min/max", f"{e['delivered_min']} / {e['delivered_max']}"),
            ("  missing", f"{e['missing']}  {dict(causes) if causes else ''}"),
            ("  duplicates", e["duplicates"]),
            ("  not in database", e["phantom"]),
            ("  delivered out of log order", sum(p["out_of_order"] for p in per)),
            ("  reconnects / client drops", f"{sum(max(0, p['connects'] - 1) for p in per)} / "
                                            f"{sum(p['client_drops'] for p in per)}"),
        ]
        for k, v in rows:
            print(f" {k:<38} {v}")
        print(" faults injected:")
        for f in self.faults:
            if "stop_at_s" in f:
                print(f"   t={f['stop_at_s']:6.1f}s  PostgreSQL stopped ({f['stop_wall']}), "
                      f"started at t={f['start_at_s']:.1f}s, down {f['down_s']:.1f}s")
            else:
                print(f"   t={f['sigterm_at_s']:6.1f}s  SIGTERM ({f['sigterm_wall']}): exit code {f['exit_code']} "
                      f"after {f['shutdown_s']:.2f}s{' (KILLED)' if f['killed'] else ''}, "
                      f"serving again after {f['unavailable_s']:.2f}s")
        print(f" server log: {log.get('panics', 0)} panics, {log.get('error_lines', 0)} ERROR lines")
        bad = {k: v for k, v in {**failures, **lost}.items() if v}
        print(f" anything lost or failed: {bad if bad else 'nothing (zero)'}")
        for p in self.problems:
            print(f"   problem: {p}")
        for f in st.failures[:5]:
            print(f"   failure: {f}")
        for d in bad_drops[:5]:
            print(f"   dropped: {d}")
        for p in per:
            if p["missing"] or p["duplicates"] or p["phantom"] or p["protocol_failures"]:
                print(f"   subscriber {p['index']}: missing {p['missing_ids'][:10]} {p['missing_causes']} "
                      f"dup {p['duplicates']} phantom {p['phantom_ids'][:10]} {p['protocol_failures'][:2]}")
        for m in events["missing_events"][:10]:
            print(f"   missing event: {m}")
        print(f" results: {a.results}")
        return 0 if ok else 1


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=60)
    p.add_argument("--users", type=int, default=40)
    p.add_argument("--subscribers", type=int, default=20)
    p.add_argument("--url", default="http://127.0.0.1:18080")
    p.add_argument("--secret", required=True)
    p.add_argument("--server-bin", required=True)
    p.add_argument("--server-log", required=True)
    p.add_argument("--server-pidfile", required=True)
    p.add_argument("--grace", type=float, default=5, help="the server's TIER3_SHUTDOWN_GRACE")
    p.add_argument("--db-down", type=float, default=5, help="seconds PostgreSQL stays down")
    p.add_argument("--settle", type=float, default=5, help="seconds to wait after the load")
    p.add_argument("--pg-stop", required=True, help="executable that stops PostgreSQL")
    p.add_argument("--pg-start", required=True, help="executable that starts PostgreSQL")
    p.add_argument("--psql", required=True, help="psql command line for the test database")
    p.add_argument("--results", required=True)
    p.add_argument("--seed", type=int, default=int(time.time()))
    a = p.parse_args()
    host = a.url.split("//", 1)[-1].split(":")[0].split("/")[0]
    if not (host.startswith("127.") or host in ("localhost", "[::1]")):
        p.error("the load test only targets loopback addresses")
    return a


if __name__ == "__main__":
    sys.exit(asyncio.run(Run(parse()).main()))
