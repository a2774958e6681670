"""Data-parallel training of a small character-level GPT on Shakespeare's sonnets.

    python -m ember.distributed.run --nproc 2 examples/ddp_gpt.py [--accumulate K]

A decoder of 2 pre-LayerNorm blocks (causal self-attention, GELU MLP; d_model 128, 4 heads)
predicts the next character of 64-character windows. Every step draws a global batch of 32
windows from one seeded generator (the same on every rank); rank r takes its slice of them,
in K micro-batches when --accumulate K: the first K - 1 backward passes run under
``model.no_sync()`` and add up on each rank, the last one averages the sum over the ranks.
Rank 0 prints the training loss and, at the end, the loss on the held-out last 10%.
EMBER_EXAMPLE_QUICK=1 trains for a few steps only (for the tests).
"""
import argparse
import contextlib
import math
import os

import ember
import ember.distributed as dist
from ember import nn

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--accumulate', type=int, default=1, metavar='K',
                    help='micro-batches per step (gradient accumulation)')
ACCUMULATE = parser.parse_args().accumulate
QUICK = os.environ.get('EMBER_EXAMPLE_QUICK') == '1'
STEPS, BATCH, SEQ_LEN, D, HEADS = (4 if QUICK else 300), 32, 64, 128, 4
F = nn.functional


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.qkv, self.proj = nn.Linear(D, 3 * D), nn.Linear(D, D)
        self.mlp = nn.Sequential(nn.Linear(D, 4 * D), nn.GELU(), nn.Linear(4 * D, D))

    def forward(self, x):
        b, t, _ = x.shape
        q, k, v = (z.reshape(b, t, HEADS, D // HEADS).transpose(1, 2)
                   for z in self.qkv(self.ln1(x)).split(D, dim=2))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, D))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, D), nn.Embedding(SEQ_LEN, D)
        self.blocks = nn.ModuleList([Block(), Block()])
        self.ln_f, self.head = nn.LayerNorm(D), nn.Linear(D, vocab)

    def forward(self, idx):
        x = self.tok(idx) + self.pos(ember.arange(idx.shape[1]))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


dist.init_process_group('mpi')
rank, world = dist.get_rank(), dist.get_world_size()
if BATCH % (world * ACCUMULATE):
    raise SystemExit(f'a batch of {BATCH} does not split into {world} ranks x {ACCUMULATE}')
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data', 'sonnets.txt')
with open(path, encoding='utf-8') as f:
    text = f.read()
chars = sorted(set(text))
data = ember.tensor([chars.index(c) for c in text])
split = int(0.9 * len(data))
train, valid = data[:split], data[split:]
offsets = ember.arange(SEQ_LEN + 1)


def windows(source, starts):
    chunk = source[starts.unsqueeze(1) + offsets]
    return chunk[:, :-1], chunk[:, 1:]


def loss_of(model, x, y):
    return F.cross_entropy(model(x).reshape(-1, len(chars)), y.reshape(-1))


ember.manual_seed(0)   # the same initial weights everywhere (DDP broadcasts rank 0's anyway)
model = nn.parallel.DistributedDataParallel(GPT(len(chars)))
optimizer = ember.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
draw = ember.Generator().manual_seed(0)
share, micro = BATCH // world, BATCH // world // ACCUMULATE
for step in range(STEPS):
    starts = ember.randint(0, len(train) - SEQ_LEN - 1, (BATCH,), generator=draw)
    x, y = windows(train, starts[rank * share:(rank + 1) * share])
    optimizer.zero_grad()
    total = 0.0
    for k in range(ACCUMULATE):
        last = k == ACCUMULATE - 1
        with contextlib.nullcontext() if last else model.no_sync():
            loss = loss_of(model, x[k * micro:(k + 1) * micro], y[k * micro:(k + 1) * micro])
            (loss / ACCUMULATE).backward()
        total += loss.item() / ACCUMULATE
    optimizer.step()
    t = ember.tensor([total], dtype=ember.float64)
    dist.all_reduce(t, op=dist.ReduceOp.AVG)
    if rank == 0 and (QUICK or step % 50 == 0 or step == STEPS - 1):
        print(f'step {step:4d}  loss {t.item():.4f}')
model.eval()
with ember.no_grad():
    x, y = windows(valid, ember.arange(0, len(valid) - SEQ_LEN - 1, SEQ_LEN)[:64])
    held_out = loss_of(model.module, x, y).item()
if rank == 0:
    print(f'validation loss: {held_out:.3f} nats/char ({held_out / math.log(2):.2f} bits/char)')
dist.destroy_process_group()
