"""get-cluster-storage-info through the official SDK: each selected cluster's data space as
its get-clusters row has it, and what it could still allocate under each policy asked for."""

from __future__ import annotations

from cloudtower.api.cluster_api import ClusterApi
from cloudtower.models import (ClusterStorageInfoEcConfig, ClusterWhereInput, GetClusterStorageInfoEffect,
                               GetClusterStorageInfoRequestBody, GetClustersRequestBody)


def test_storage_info_follows_the_clusters(api_client):
    api = ClusterApi(api_client)
    clusters = api.get_clusters(GetClustersRequestBody())
    assert len(clusters) >= 2
    target = clusters[0]
    infos = api.get_cluster_storage_info(GetClusterStorageInfoRequestBody(
        where=ClusterWhereInput(name=target.name),
        effect=GetClusterStorageInfoEffect(replica=[2, 3], ec=[ClusterStorageInfoEcConfig(k=4, m=2)])))
    assert [i.id for i in infos] == [target.id]
    info = infos[0]
    assert (info.name, info.type, info.stretch) == (target.name, target.type, bool(target.stretch))
    assert info.total_data_capacity == target.total_data_capacity > 0
    assert info.used_data_space == target.used_data_space
    free = target.total_data_capacity - target.used_data_space - (target.failure_data_space or 0)
    assert info.free_data_space == free > 0
    replica = {c.replica_num: c.capacity for c in info.allocable_storage_capacity.replica}
    assert replica == {2: round(free / 2, 2), 3: round(free / 3, 2)}
    (ec,) = info.allocable_storage_capacity.ec
    assert (ec.k, ec.m, ec.capacity) == (4, 2, round(free * 4 / 6, 2))
    every = api.get_cluster_storage_info(GetClusterStorageInfoRequestBody(
        where=ClusterWhereInput(), effect=GetClusterStorageInfoEffect()))
    assert sorted(i.id for i in every) == sorted(c.id for c in clusters)
    assert all(i.allocable_storage_capacity.replica == [] for i in every)
