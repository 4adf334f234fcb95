"""Free TCP ports for local servers and the ports of one `weed mini`; starts nothing."""

from __future__ import annotations

import random
import socket
import time
from dataclasses import asdict, dataclass

from pipeline.errors import ConfigurationError

# SeaweedFS derives each gRPC port from its HTTP port (+10000) in places that ignore the
# explicit `-*.port.grpc` flags (mini's admin worker dials admin.port+10000), so the twin of
# every HTTP port must be free and is passed explicitly for clarity.
GRPC_OFFSET = 10_000


# Random ports come from here: their gRPC twins land in 30000-32767, both below Linux's
# default ephemeral range (32768+), so an outgoing connection cannot take one between our
# check and the server's bind.
_PORT_RANGE = (20_000, 22_767)


@dataclass(frozen=True)
class SeaweedPorts:
    """HTTP ports of the components of one `weed mini`; each gRPC port is its twin +10000."""

    master: int = 9333
    volume: int = 9340
    filer: int = 8888
    s3: int = 8333
    admin: int = 23646

    def http_ports(self) -> list[int]:
        return [self.master, self.volume, self.filer, self.s3, self.admin]

    def all_ports(self) -> list[int]:
        """Every TCP port the server listens on (HTTP and gRPC)."""
        return self.http_ports() + [p + GRPC_OFFSET for p in self.http_ports()]

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, int]) -> SeaweedPorts:
        return cls(**{k: int(v) for k, v in data.items() if k in cls.__dataclass_fields__})


def is_port_free(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:port now (TIME_WAIT does not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Servers set SO_REUSEADDR; without it, harmless TIME_WAIT leftovers look busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for_free_ports(ports: list[int], timeout: float, poll: float = 0.2) -> list[int]:
    """Wait up to `timeout` s for every port to be free; the ports still taken ([] = all free).

    A server killed a moment ago can leave its ports taken briefly (a child still closing
    them); waiting lets it come back where its clients expect it.
    """
    deadline = time.monotonic() + max(timeout, 0.0)
    while True:
        busy = [p for p in ports if not is_port_free(p)]
        if not busy or time.monotonic() >= deadline:
            return busy
        time.sleep(poll)


def find_free_ports(n: int, *, grpc_twins: bool = True) -> list[int]:
    """n distinct free ports on 127.0.0.1; with grpc_twins, each port+10000 is free as well."""
    rng = random.Random()
    chosen: list[int] = []
    taken: set[int] = set()
    for _ in range(5_000):
        if len(chosen) == n:
            return chosen
        port = rng.randint(*_PORT_RANGE)
        needed = {port, port + GRPC_OFFSET} if grpc_twins else {port}
        if needed & taken or not all(is_port_free(p) for p in needed):
            continue
        chosen.append(port)
        taken |= needed
    if len(chosen) == n:
        return chosen
    raise ConfigurationError(
        f"Could not find {n} free TCP ports on 127.0.0.1 between {_PORT_RANGE[0]} and "
        f"{_PORT_RANGE[1]}; stop some local servers and try again."
    )


def find_free_seaweed_ports() -> SeaweedPorts:
    """A full set of free ports for a private `weed mini` (tests, or defaults taken)."""
    master, volume, filer, s3, admin = find_free_ports(5)
    return SeaweedPorts(master=master, volume=volume, filer=filer, s3=s3, admin=admin)


def are_listening(ports: list[int]) -> bool:
    for port in ports:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                pass
        except OSError:
            return False
    return True
