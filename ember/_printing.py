"""``ember.set_printoptions``: how tensors print (read by ``Tensor.__repr__``)."""
import sys

_PROFILES = {'default': dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
             'short': dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
             'full': dict(precision=4, threshold=sys.maxsize, edgeitems=3, linewidth=80)}
OPTIONS = dict(_PROFILES['default'], sci_mode=None)


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """Set how tensors print, as ``torch.set_printoptions``: ``precision`` (digits after the
    point), ``threshold`` (more elements than this are summarised with ``...``), ``edgeitems``
    (elements shown at each end then), ``linewidth`` (characters a line), ``profile``
    (``'default'``, ``'short'`` or ``'full'``: all four at once) and ``sci_mode`` (True:
    always scientific notation, False: never, None: when the values call for it).

    >>> ember.set_printoptions(precision=2)
    >>> ember.tensor([1.23456, 2.5])
    tensor([1.23, 2.50])
    >>> ember.set_printoptions(profile='default')
    """
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be 'default', 'short' or 'full', "
                             f"got {profile!r}")
        OPTIONS.update(_PROFILES[profile])
    for name, value in (('precision', precision), ('threshold', threshold),
                        ('edgeitems', edgeitems), ('linewidth', linewidth)):
        if value is not None:   # (NumPy takes no inf: the largest int says the same)
            OPTIONS[name] = min(value, sys.maxsize) if name == 'threshold' else int(value)
    OPTIONS['sci_mode'] = sci_mode
