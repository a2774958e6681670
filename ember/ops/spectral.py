"""The short-time Fourier transform (``ember.stft``, ``Tensor.stft``), composed from framing
by indexing, a window and ``ember.fft``'s transforms; its gradient comes from theirs."""
import numpy as np

from .._tensor import Tensor, method, ones
from .movement import pad

__all__ = ['stft']


@method('stft')
def stft(input, n_fft, hop_length=None, win_length=None, window=None, center=True,
         pad_mode='reflect', normalized=False, onesided=None, return_complex=None):
    """The short-time Fourier transform of a real signal ``(L,)`` or batch ``(B, L)``, as
    ``torch.stft``: frames of ``n_fft`` samples every ``hop_length`` (default ``n_fft // 4``),
    times ``window`` (``win_length`` values, default ones, centred in ``n_fft``), transformed;
    ``(..., n_fft // 2 + 1, frames)`` complex (``onesided=False``: all ``n_fft``
    frequencies). ``center`` pads ``n_fft // 2`` on both sides first (``pad_mode``);
    ``normalized`` divides by ``sqrt(n_fft)``. ``return_complex`` must be given, as torch
    requires; False gives ``view_as_real`` of the result.

    >>> ember.stft(ember.ones(16), 8, hop_length=4, window=ember.ones(8),
    ...            return_complex=True).shape
    ember.Size([5, 5])
    """
    from .. import fft
    from .complex_ops import view_as_real
    x = input
    if return_complex is None:
        raise RuntimeError('stft requires the return_complex parameter be given for real '
                           'inputs (True: a complex result; False: view_as_real of it)')
    if not isinstance(x, Tensor) or x.ndim not in (1, 2) or x.is_complex():
        raise RuntimeError(f'stft: expected a real 1-D (signal) or 2-D (batch) tensor, got '
                           f'{_what(x)}')
    hop = n_fft // 4 if hop_length is None else hop_length
    win = n_fft if win_length is None else win_length
    if center:
        half = n_fft // 2
        x = pad(x.reshape(1, -1, x.shape[-1]), (half, half), mode=pad_mode).reshape(
            *x.shape[:-1], x.shape[-1] + 2 * half)
    length = x.shape[-1]
    if not 0 < n_fft <= length or hop <= 0 or not 0 < win <= n_fft:
        raise RuntimeError(f'stft: expected 0 < n_fft <= {length} (the padded length), '
                           f'hop_length > 0 and 0 < win_length <= n_fft, got n_fft={n_fft}, '
                           f'hop_length={hop}, win_length={win}')
    starts = np.arange(1 + (length - n_fft) // hop) * hop
    index = Tensor._make(starts[:, None] + np.arange(n_fft)).to(x.device)
    frames = x[..., index]                               # (..., frames, n_fft)
    if window is None and win < n_fft:   # the default window: ones over win_length
        window = ones(win, dtype=x.dtype, device=x.device)
    if window is not None:
        if not isinstance(window, Tensor) or window.ndim != 1 or window.shape[0] != win:
            raise RuntimeError(f'stft: expected a 1-D window of win_length={win} values, got '
                               f'{_what(window)}')
        left = (n_fft - win) // 2   # centred in the frame, zeros around
        frames = frames * pad(window, (left, n_fft - win - left))
    one = not frames.is_complex() if onesided is None else onesided
    if one and frames.is_complex():
        raise RuntimeError('stft: a onesided result needs a real window; pass onesided=False')
    norm = 'ortho' if normalized else 'backward'
    spec = (fft.rfft if one else fft.fft)(frames, dim=-1, norm=norm).transpose(-1, -2)
    return spec if return_complex else view_as_real(spec)


def _what(x):
    if not isinstance(x, Tensor):
        return type(x).__name__
    return f'shape {tuple(x.shape)}, {x.dtype}'
