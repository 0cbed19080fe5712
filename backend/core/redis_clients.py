"""Redis clients from URLs: one server, or a Redis Cluster.

- ``redis://``, ``rediss://``, ``unix://``: one server (redis-py's own URL forms).
- ``redis+cluster://[user:password@]host:port[,host:port...][/?option=value]`` (``rediss+cluster://``
  over TLS): a Redis Cluster, named by one or more of its nodes; the client discovers the others and
  follows the slots as they move (a failover, a resharding). Query options are redis-py's connection
  options (``socket_timeout=2``); ``/0`` is the only database a cluster has.

A cluster client raises ``redis.RedisError`` for every outage, as a single server's does: redis-py
reports some cluster states (no node reachable, a slot no node serves while a failover runs) with
exceptions outside that hierarchy, and callers that fall back on ``RedisError`` must see those too.
"""

from __future__ import annotations

import re

import redis
from redis.cluster import ClusterNode, ClusterPipeline, RedisCluster
from redis.exceptions import CrossSlotTransactionError, InvalidPipelineStack, RedisClusterException

CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}

# Unless the URL says otherwise: a node that went away answers nothing, and the client must give up on
# it soon enough for a request to fall back (a single server's client keeps redis-py's defaults).
_CLUSTER_DEFAULTS = {"socket_connect_timeout": 1.0, "socket_timeout": 2.0}

_CLUSTER_URL = re.compile(r"^(?:(?P<auth>[^@/?]*)@)?(?P<hosts>[^/?]*)(?P<tail>.*)$")


class ClusterUnavailable(redis.ConnectionError):
    """The cluster could not run a command: no node reachable, or a slot no node serves right now."""


def _unavailable(error: RedisClusterException) -> Exception:
    # A cross-slot transaction or a broken pipeline is a bug of ours, not an outage: never hidden by a fallback.
    if isinstance(error, CrossSlotTransactionError | InvalidPipelineStack):
        return error
    return ClusterUnavailable(str(error))


class _Pipeline(ClusterPipeline):
    def execute(self, raise_on_error: bool = True):
        try:
            return super().execute(raise_on_error)
        except RedisClusterException as error:
            raise _unavailable(error) from error


class Cluster(RedisCluster):
    """``RedisCluster`` whose outages are ``RedisError`` s, commands and pipelines alike."""

    def execute_command(self, *args, **kwargs):
        try:
            return super().execute_command(*args, **kwargs)
        except RedisClusterException as error:
            raise _unavailable(error) from error

    def pipeline(self, transaction=None, shard_hint=None):
        pipe = super().pipeline(transaction=transaction, shard_hint=shard_hint)
        pipe.__class__ = _Pipeline  # the same object, with execute() translating outages as above
        return pipe


def is_cluster_url(url: str) -> bool:
    return url.partition("://")[0] in CLUSTER_SCHEMES


def cluster_nodes(url: str) -> list[tuple[str, int]]:
    """The (host, port) nodes a cluster URL names."""
    scheme, _, rest = url.partition("://")
    if scheme not in CLUSTER_SCHEMES:
        raise ValueError(f"not a Redis Cluster URL: {scheme}://")
    nodes = []
    for node in filter(None, _CLUSTER_URL.match(rest)["hosts"].split(",")):
        host, _, port = node.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"a Redis Cluster node is host:port, not {node!r}")
        nodes.append((host.strip("[]"), int(port)))
    if not nodes:
        raise ValueError("a Redis Cluster URL names at least one node")
    return nodes


def client_from_url(url: str, **options) -> redis.Redis | Cluster:
    """A client of the server or cluster ``url`` names. A cluster is asked for its slots at once:
    ``ClusterUnavailable`` when none of the nodes named answers."""
    scheme, _, rest = url.partition("://")
    if scheme not in CLUSTER_SCHEMES:
        return redis.Redis.from_url(url, **options)
    parts = _CLUSTER_URL.match(rest)
    (first_host, first_port), *others = cluster_nodes(url)
    auth = f"{parts['auth']}@" if parts["auth"] is not None else ""
    host = f"[{first_host}]" if ":" in first_host else first_host
    first = f"{CLUSTER_SCHEMES[scheme]}://{auth}{host}:{first_port}{parts['tail']}"
    given = set(redis.connection.parse_url(first))
    options = {**{k: v for k, v in _CLUSTER_DEFAULTS.items() if k not in given}, **options}
    try:
        return Cluster(url=first, startup_nodes=[ClusterNode(h, p) for h, p in others], **options)
    except RedisClusterException as error:
        raise _unavailable(error) from error
