"""A character-level language model: an LSTM that learns to write like Shakespeare's sonnets.

    python examples/char_lm.py [--tensorboard DIR]

It reads examples/data/sonnets.txt (public domain; see examples/data/README.md), trains on
random 64-character windows of the first 90% to predict each next character, reports the
loss on the last 10%, and writes a sample from a seed string, one character at a time.
EMBER_EXAMPLE_QUICK=1 trains for a few steps only (for the tests).
"""
import argparse
import math
import os
import time

import ember
from ember import nn
from ember.utils.tensorboard import SummaryWriter

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--tensorboard', metavar='DIR', help='also log to DIR for TensorBoard')
board = parser.parse_args().tensorboard
writer = SummaryWriter(board) if board else None      # (pip install ember[viz])
QUICK = os.environ.get('EMBER_EXAMPLE_QUICK') == '1'
STEPS = 5 if QUICK else 600          # batches of BATCH windows of SEQ_LEN characters
BATCH, SEQ_LEN = 32, 64
REPORT_EVERY = 1 if QUICK else 50
SEED_TEXT, SAMPLE_LEN, TEMPERATURE = 'Shall I compare thee', 40 if QUICK else 400, 0.8


class CharLSTM(nn.Module):
    def __init__(self, vocab_size, embed_size=32, hidden_size=128):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.lstm = nn.LSTM(embed_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, x, state=None):            # x: (batch, time) character ids
        out, state = self.lstm(self.embed(x), state)
        return self.head(out), state               # logits: (batch, time, vocab)


ember.manual_seed(0)
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data', 'sonnets.txt')
with open(path, encoding='utf-8') as f:
    text = f.read()
chars = sorted(set(text))
index_of = {c: i for i, c in enumerate(chars)}
data = ember.tensor([index_of[c] for c in text])
split = int(0.9 * len(data))
train, valid = data[:split], data[split:]
print(f'{len(text):,} characters, {len(chars)} distinct; {len(train):,} to train on, '
      f'{len(valid):,} held out')

offsets = ember.arange(SEQ_LEN + 1)
generator = ember.Generator().manual_seed(0)


def windows(source, starts):
    """Inputs and next-character targets for windows beginning at ``starts``."""
    chunk = source[starts.unsqueeze(1) + offsets]           # (batch, SEQ_LEN + 1)
    return chunk[:, :-1], chunk[:, 1:]


def loss_of(model, x, y):
    logits, _ = model(x)
    return nn.functional.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1))


model = CharLSTM(len(chars))
optimizer = ember.optim.Adam(model.parameters(), lr=3e-3)
scheduler = ember.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=STEPS)

start = time.perf_counter()
curve, running = [], []
for step in range(1, STEPS + 1):
    starts = ember.randint(0, len(train) - SEQ_LEN - 1, (BATCH,), generator=generator)
    x, y = windows(train, starts)
    optimizer.zero_grad()
    loss = loss_of(model, x, y)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    running.append(loss.item())
    if step % REPORT_EVERY == 0:
        curve.append((step, sum(running) / len(running)))
        running = []
        print(f'step {step:4d}  train loss {curve[-1][1]:.3f}')
        if writer:
            writer.add_scalar('train_loss', curve[-1][1], step)
if writer:
    writer.close()
print(f'trained in {time.perf_counter() - start:.1f} s')

# the held-out text, in non-overlapping windows
model.eval()
with ember.no_grad():
    starts = ember.arange(0, len(valid) - SEQ_LEN - 1, SEQ_LEN)
    valid_loss = loss_of(model, *windows(valid, starts)).item()
print(f'train loss {curve[0][1]:.3f} (step {curve[0][0]}) -> {curve[-1][1]:.3f} '
      f'(step {curve[-1][0]}); uniform guessing would be {math.log(len(chars)):.3f}')


def sample(model, seed_text, length, temperature):
    """Feed ``seed_text``, then draw each next character from the softmax of the logits."""
    ids = ember.tensor([[index_of[c] for c in seed_text]])
    out = list(seed_text)
    with ember.no_grad():
        logits, state = model(ids)
        for _ in range(length):
            probs = (logits[0, -1] / temperature).softmax(-1)
            # draw from probs by inverting its cumulative sum (ember has no multinomial yet)
            i = min(int((probs.cumsum(0) < ember.rand(1)).sum()), len(chars) - 1)
            out.append(chars[i])
            logits, state = model(ember.tensor([[i]]), state)
    return ''.join(out)


print(f'\n--- sample (temperature {TEMPERATURE}) ---')
print(sample(model, SEED_TEXT, SAMPLE_LEN, TEMPERATURE))
print('---\n')
print(f'validation loss: {valid_loss:.3f} nats/char ({valid_loss / math.log(2):.2f} bits/char)')
