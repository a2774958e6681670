"""Data-parallel training of an MLP (784-256-10) on ember's 5,000 MNIST digits.

    python -m ember.distributed.run --nproc 2 examples/ddp_mnist.py
    mpiexec -n 2 python examples/ddp_mnist.py        # the same, started by MPI itself
    python examples/ddp_mnist.py                      # one process (world size 1)

Each process trains on its shard of every batch (DistributedSampler), and DistributedDataParallel
averages the gradients, so N processes take the steps one process would take on the global
batch of 64. Rank 0 prints. EMBER_EXAMPLE_QUICK=1 trains on a few batches only (for the tests).
"""
import os
import time

import ember
import ember.distributed as dist
from ember import nn

QUICK = os.environ.get('EMBER_EXAMPLE_QUICK') == '1'
EPOCHS, GLOBAL_BATCH = (1 if QUICK else 8), 64

dist.init_process_group('mpi')
rank, world = dist.get_rank(), dist.get_world_size()
if GLOBAL_BATCH % world:
    raise SystemExit(f'the global batch of {GLOBAL_BATCH} does not split over {world} processes')

ember.manual_seed(0)
images, labels = ember.datasets.mnist_5k()               # sorted by label: shuffle first
order = ember.randperm(len(labels), generator=ember.Generator().manual_seed(0))
x, y = images[order].reshape(-1, 28 * 28), labels[order]
x_train, y_train, x_test, y_test = x[:4000], y[:4000], x[4000:], y[4000:]
if QUICK:
    x_train, y_train = x_train[:256], y_train[:256]
train_set = ember.data.TensorDataset(x_train, y_train)
sampler = ember.data.DistributedSampler(train_set, shuffle=True, seed=0, drop_last=True)
loader = ember.data.DataLoader(train_set, batch_size=GLOBAL_BATCH // world, sampler=sampler)

model = nn.parallel.DistributedDataParallel(
    nn.Sequential(nn.Linear(28 * 28, 256), nn.ReLU(), nn.Linear(256, 10)))
optimizer = ember.optim.Adam(model.parameters(), lr=1e-3)


def mean_over_ranks(value):
    t = ember.tensor([value], dtype=ember.float64)
    dist.all_reduce(t, op=dist.ReduceOp.AVG)
    return t.item()


start = time.perf_counter()
for epoch in range(EPOCHS):
    sampler.set_epoch(epoch)                             # a new shuffle, the same on all ranks
    model.train()
    total, count = 0.0, 0
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(xb), yb)
        loss.backward()                                  # gradients averaged over the ranks
        optimizer.step()
        total, count = total + loss.item(), count + 1
    model.eval()
    with ember.no_grad():
        accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
    loss = mean_over_ranks(total / count)
    if rank == 0:
        print(f'epoch {epoch + 1:2d}  loss {loss:.4f}  test accuracy {100 * accuracy:.1f}%  '
              f'({world} process{"es" if world > 1 else ""})')
if rank == 0:
    print(f'trained in {time.perf_counter() - start:.1f} s')
    print(f'test accuracy: {100 * accuracy:.1f}%')
dist.destroy_process_group()
