"""Knowledge distillation on the MNIST digits that ship with ember: a small student learns
from a bigger teacher's softened outputs (Hinton et al., 2015), against the same student
trained on the labels alone.

    python examples/distill_mnist.py

The teacher is LeNet-5 (61,706 parameters); the student a 784-32-10 MLP (25,450). The
student's loss is ``alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T)) + (1 - alpha)
* cross_entropy(student, labels)`` with T = 8, alpha = 0.9; both students train 20 epochs.
EMBER_EXAMPLE_QUICK=1 trains on a few batches only (for the tests).
"""
import os
import time

import ember
from ember import nn

QUICK = os.environ.get('EMBER_EXAMPLE_QUICK') == '1'
TEACHER_EPOCHS, STUDENT_EPOCHS = (1, 1) if QUICK else (8, 20)
T, ALPHA = 8.0, 0.9


def teacher_model():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def student_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))


def distillation_loss(student_logits, teacher_logits, labels):
    """Hinton's loss: the softened distributions' KL divergence (times T^2, so its gradients
    keep their size as T changes) mixed with the usual cross-entropy."""
    soft = nn.functional.kl_div(nn.functional.log_softmax(student_logits / T, dim=1),
                                nn.functional.log_softmax(teacher_logits / T, dim=1),
                                reduction='batchmean', log_target=True)
    hard = nn.functional.cross_entropy(student_logits, labels)
    return ALPHA * T * T * soft + (1 - ALPHA) * hard


def train(model, loader, epochs, loss_of, lr):
    opt = ember.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        model.train()
        for xb, yb in loader:
            opt.zero_grad()
            loss_of(model, xb, yb).backward()
            opt.step()


def accuracy(model, x, y):
    model.eval()
    with ember.no_grad():
        return 100 * (model(x).argmax(1) == y).float().mean().item()


ember.manual_seed(0)
images, labels = ember.datasets.mnist_5k()
order = ember.randperm(len(labels), generator=ember.Generator().manual_seed(0))
x, y = images[order].unsqueeze(1), labels[order]
x_train, y_train, x_test, y_test = x[:4000], y[:4000], x[4000:], y[4000:]
if QUICK:
    x_train, y_train = x_train[:256], y_train[:256]


def loader(seed):
    return ember.data.DataLoader(ember.data.TensorDataset(x_train, y_train), batch_size=32,
                                 shuffle=True, generator=ember.Generator().manual_seed(seed))


start = time.perf_counter()
teacher = teacher_model()
train(teacher, loader(0), TEACHER_EPOCHS,
      lambda m, xb, yb: nn.functional.cross_entropy(m(xb), yb), lr=1e-3)
teacher.eval()
print(f'teacher (LeNet-5, {sum(p.numel() for p in teacher.parameters()):,} parameters): '
      f'{accuracy(teacher, x_test, y_test):.1f}%')

ember.manual_seed(1)
alone = student_model()
train(alone, loader(1), STUDENT_EPOCHS,
      lambda m, xb, yb: nn.functional.cross_entropy(m(xb), yb), lr=1e-3)

ember.manual_seed(1)
student = student_model()             # the same start as `alone`


def distilled(m, xb, yb):
    with ember.no_grad():
        target = teacher(xb)
    return distillation_loss(m(xb), target, yb)


train(student, loader(1), STUDENT_EPOCHS, distilled, lr=1e-3)
print(f'student (MLP, {sum(p.numel() for p in student.parameters()):,} parameters) on the '
      f'labels alone: {accuracy(alone, x_test, y_test):.1f}%')
print(f'trained in {time.perf_counter() - start:.1f} s')
print(f'student distilled from the teacher: {accuracy(student, x_test, y_test):.1f}%')
