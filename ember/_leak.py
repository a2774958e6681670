"""A warning for the classic leak of a training loop: ``total_loss += loss`` builds each
step's graph onto the last, so no step's graph is ever freed (the nodes and what they hold
pile up until the process runs out of memory).

``backward()`` keeps a weak reference to the node it started from. When the next
``backward()`` finds that node still alive, it asks once (``gc.get_referrers``, a walk of the
heap, done at most once per process) whether a node made since holds it as an input: the
sign that a later graph was built on an earlier one. Then it warns, once. A node kept alive
by a tensor the user holds (``losses.append(loss)``) is not that, and stops the checking.
"""
import gc
import warnings
import weakref


class _Watch:
    last = None          # weak reference to the previous backward's first node
    done = False         # checked once (warned or not): no more checks


def after_backward(roots):
    """Called by ``backward()`` with its root tensors."""
    if _Watch.done:
        return
    node = roots[0].grad_fn if roots else None
    previous = _Watch.last() if _Watch.last is not None else None
    if previous is not None and previous is not node:
        _Watch.done = True
        if _held_by_a_node(previous):
            warnings.warn(
                'ember: the graph of an earlier backward() is still held by a newer graph '
                '(a tensor that requires grad was accumulated across steps, as in '
                '"total_loss += loss"): every step\'s graph stays in memory. Accumulate '
                'loss.item() or loss.detach() instead.', stacklevel=4)
    _Watch.last = weakref.ref(node) if node is not None else None


def _held_by_a_node(node):
    """Whether some autograd node's input edges hold ``node`` (edge tuples in a list that
    is a node's ``next_edges``)."""
    from .autograd import Node
    for edge in gc.get_referrers(node):
        if type(edge) is not tuple or not edge or edge[0] is not node:
            continue
        for edges in gc.get_referrers(edge):
            if type(edges) not in (list, tuple):
                continue
            for owner in gc.get_referrers(edges):
                if isinstance(owner, dict):
                    owner = next((o for o in gc.get_referrers(owner)
                                  if isinstance(o, Node) and o.__dict__ is owner), None)
                if isinstance(owner, Node) and owner.next_edges is edges:
                    return True
    return False
