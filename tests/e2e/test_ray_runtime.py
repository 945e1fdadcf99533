"""A real local Ray: started in-process with fractional actors that do not starve a 2-core machine."""

import numpy as np
import pytest

from sppe_ray.runtime import actor_cpus, init_ray

pytestmark = pytest.mark.slow


class _Square:
    def __call__(self, batch):
        return {"y": batch["id"] ** 2}


def test_local_ray_data_actor_pool(ray_local):
    resources = init_ray()  # idempotent: joins the session's cluster
    assert resources["CPU"] == 2
    assert actor_cpus() < 1
    ds = ray_local.data.range(64).map_batches(_Square, compute=ray_local.data.ActorPoolStrategy(size=2),
                                              num_cpus=actor_cpus(), batch_size=8)
    ys = np.sort(np.concatenate([b["y"] for b in ds.iter_batches(batch_size=None)]))
    assert np.array_equal(ys, np.arange(64) ** 2)
