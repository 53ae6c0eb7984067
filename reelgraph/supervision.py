"""Supervising child processes: start them, wait for gRPC health, stop them all in order.

Shared by the command line's local stack (``reelgraph stack``) and the server's
``--processes N`` parent. It imports nothing from ``trainer``, ``server`` or
``worker`` (nor from ``reelgraph.cli``), so both may use it.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

GRACE_S = 15.0


@dataclass
class Child:
    """A supervised child process."""

    name: str
    proc: subprocess.Popen[bytes]


@dataclass
class Supervisor:
    """Running children, stopped in reverse start order."""

    say: Callable[[str], None]
    children: list[Child] = field(default_factory=list)

    def spawn(self, name: str, args: Sequence[str]) -> Child:
        proc = subprocess.Popen(list(args), start_new_session=True, preexec_fn=die_with_parent)
        child = Child(name, proc)
        self.children.append(child)
        return child

    def exited(self) -> Child | None:
        """The first child that has exited, if any."""
        return next((c for c in self.children if c.proc.poll() is not None), None)

    def stop(self) -> None:
        """SIGTERM every child (last started first), then SIGKILL what outstays the grace."""
        for child in reversed(self.children):
            if child.proc.poll() is None:
                self.say(f"stopping {child.name} (pid {child.proc.pid})")
                child.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + GRACE_S
        for child in reversed(self.children):
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"{child.name} did not stop in {GRACE_S:.0f} s: killing it")
                child.proc.kill()
                child.proc.wait()


def die_with_parent() -> None:
    """In a child before exec: ask Linux to SIGTERM it when its parent dies (no-op elsewhere)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def supervise(supervisor: Supervisor, stop: threading.Event) -> int:
    """Wait for ``stop``; 0 then, or 1 as soon as a child exits on its own."""
    while not stop.wait(0.5):
        child = supervisor.exited()
        if child is not None:
            supervisor.say(f"{child.name} exited unexpectedly with status {child.proc.returncode}: stopping the stack")
            return 1
    supervisor.say("stopping (signal received)")
    return 0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the kernel's pick)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def grpc_serving(
    target: str,
    timeout_s: float = 3.0,
    *,
    root_certificates: bytes | None = None,
    private_key: bytes | None = None,
    certificate_chain: bytes | None = None,
) -> bool:
    """True when ``grpc.health.v1`` at ``target`` (host:port) answers SERVING for the server.

    With ``root_certificates`` (PEM) it speaks TLS; add the key and chain for mTLS.
    """
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    if root_certificates is not None:
        creds = grpc.ssl_channel_credentials(root_certificates, private_key, certificate_chain)
        opened = grpc.secure_channel(target, creds)
    else:
        opened = grpc.insecure_channel(target)
    with opened as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=timeout_s)
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)
