"""Local servers (redis-server, `weed mini`, a SeaweedFS cluster): the only package that spawns
them; sets no policy."""

from pipeline.adapters.embedded.bucket import (
    PUBLIC_PREFIXES,
    allow_public_read,
    create_buckets,
    public_read_policy,
)
from pipeline.adapters.embedded.port import (
    GRPC_OFFSET,
    SeaweedPorts,
    find_free_ports,
    find_free_seaweed_ports,
    is_port_free,
    wait_for_free_ports,
)
from pipeline.adapters.embedded.process import (
    ServerProcess,
    is_process_alive,
    read_log_tail,
    read_start_ticks,
    start_worker,
    stop_process,
    write_private_file,
)
from pipeline.adapters.embedded.redis_server import is_redis_up, redis_server_binary, start_redis
from pipeline.adapters.embedded.seaweedfs import (
    is_s3_up,
    make_s3_client,
    start_seaweedfs,
    volume_slots,
    weed_binary,
)

__all__ = [
    "GRPC_OFFSET",
    "PUBLIC_PREFIXES",
    "SeaweedPorts",
    "ServerProcess",
    "allow_public_read",
    "create_buckets",
    "find_free_ports",
    "find_free_seaweed_ports",
    "is_port_free",
    "is_process_alive",
    "is_redis_up",
    "is_s3_up",
    "make_s3_client",
    "public_read_policy",
    "read_log_tail",
    "read_start_ticks",
    "redis_server_binary",
    "start_redis",
    "start_seaweedfs",
    "start_worker",
    "stop_process",
    "volume_slots",
    "wait_for_free_ports",
    "weed_binary",
    "write_private_file",
]
