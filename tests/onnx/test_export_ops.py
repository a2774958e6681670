"""Every case of the op tables (tests/ops, and tests/nn's functional table) exported with
``ember.onnx.export`` and run in ONNX Runtime: its outputs equal ember's within the op
tables' tolerance (docs/testing.md; integers and bools exactly). The case's first shape
menu entry, in its first dtype; tensor inputs become the graph's inputs.

A case ONNX cannot express must raise ``ExportError`` naming the op and why: ``REFUSED``
lists them by reason (the test asserts each still raises that, so the list stays true)."""
import re

import numpy as np
import pytest

import ember
import tests.ops.test_compile_ops as compile_ops
import tests.ops.test_extra as extra
import tests.ops.test_gaps as gaps
import tests.ops.test_linalg_ext as linalg_ext
import tests.ops.test_sort as sort
import tests.ops.test_special as special
from tests.helpers import DEVICE, arrays, outputs
from tests.onnx.common import assert_matches, export_bytes, run_ort

pytestmark = [pytest.mark.skipif(DEVICE != 'cpu', reason='export runs on CPU tensors'),
              pytest.mark.filterwarnings('ignore::UserWarning')]

TABLES = compile_ops.TABLES + [extra.CASES, gaps.CASES, sort.CASES, special.CASES,
                               linalg_ext.CASES]

NO_FORM = 'has no ONNX form in ember.onnx'
HOST = "computed from the inputs outside ember's ops"
LINALG = 'ONNX has no linear algebra beyond matmul and det'
REFUSED = {
    # the transforms: ONNX Runtime has no complex kernels (and ember.onnx no form of the
    # length fitting that comes first), and a real angle is not written yet
    **dict.fromkeys(['rfft[n=7]', 'rfft[n=2]', 'rfft2[s=(3, 5)]', 'ihfft[n=5]'],
                    'op Fit: .*' + NO_FORM),
    **dict.fromkeys(['abs_of_fft', 'power_spectrum', 'filter', 'stft_constant_pad'],
                    'complex tensors .* have no ONNX Runtime kernels'),
    'angle_real': 'op Angle: .*' + NO_FORM,
    # ONNX has no such operator
    **dict.fromkeys(['gammaln', 'lgamma_gap', 'digamma', 'digamma_gap', 'psi', 'polygamma1',
                     'polygamma2', 'polygamma3_method', 'multigammaln', 'mvlgamma_method',
                     'erfinv', 'erfinv_method', 'erfcx', 'ndtri', 'log_ndtr', 'i0', 'i0_method',
                     'i0e', 'i1', 'i1e', 'sinc', 'sinc_method', 'entr'],
                    'op Special: .*ONNX has no special functions'),
    **dict.fromkeys(['bessel_j0', 'bessel_j1'], 'op Bessel: .*no Bessel functions'),
    **dict.fromkeys(['zeta_q', 'zeta'], 'op Zeta: .*no zeta'),
    **dict.fromkeys(['gammainc_x', 'gammaincc_x', 'gammainc', 'gammaincc'],
                    'op IncompleteGamma: .*no incomplete gamma'),
    **dict.fromkeys(['cumprod_last', 'cumprod_first', 'cumprod_zeros', 'vander', 'vander_n'],
                    'op Cumprod: .*no cumulative product'),
    **dict.fromkeys(['logcumsumexp', 'logcumsumexp_first'],
                    'op Logcumsumexp: .*no cumulative log-sum-exp'),
    **dict.fromkeys(['cholesky', 'cholesky_upper', 'cholesky_top', 'cholesky_method'],
                    'op Cholesky: .*' + LINALG),
    **dict.fromkeys(['slogdet', 'slogdet_method', 'logdet', 'logdet_method'],
                    'op DetSign: .*' + LINALG),
    **dict.fromkeys(['eigh', 'eigh_upper', 'eigvalsh'], 'op Eigh: .*' + LINALG),
    **dict.fromkeys(['inv', 'inverse', 'inverse_method', 'matrix_power_neg', 'cond_fro',
                     'cond_1', 'cond_inf', 'tensorinv', 'tensorinv_1'], 'op Inv: .*' + LINALG),
    **dict.fromkeys(['matrix_exp', 'matrix_exp_large', 'matrix_exp_top', 'matrix_exp_method'],
                    'op MatrixExp: .*' + LINALG),
    **dict.fromkeys(['lstsq', 'pinv', 'pinv_hermitian', 'pinverse', 'pinverse_method'],
                    'op Pinv: .*' + LINALG),
    **dict.fromkeys(['qr', 'qr_complete', 'qr_r', 'qr_top', 'qr_top_complete', 'qr_method'],
                    'op Qr: .*' + LINALG),
    **dict.fromkeys(['solve', 'solve_right', 'solve_triangular', 'solve_triangular_upper',
                     'solve_triangular_unit', 'tensorsolve', 'tensorsolve_dims'],
                    'op Solve: .*' + LINALG),
    **dict.fromkeys(['norm_nuc', 'norm_nuc_dims', 'svd', 'svd_full', 'svdvals', 'svd_top',
                     'svd_method', 'matrix_norm_nuc', 'matrix_norm_2', 'matrix_norm_m2',
                     'matrix_norm_dims', 'norm_matrix', 'norm_dim2', 'cond_none', 'cond_m2',
                     'cond_nuc', 'cond_rect'], 'op Svd: .*' + LINALG),
    **dict.fromkeys(['scatter_add', 'scatter_add_big_src', 'scatter_add_dim0', 'scatter_add_',
                     'index_add', 'index_add_'], 'op IndexAdd: .*accumulate at repeated'),
    **dict.fromkeys(['scatter_reduce_amax_False', 'scatter_reduce_', 'scatter_reduce_amin_False',
                     'scatter_reduce_mean_False', 'scatter_reduce_int_mean',
                     'scatter_reduce_mean_True', 'scatter_reduce_prod_False',
                     'scatter_reduce_sum_False'],
                    r'op ScatterReduce: scatter_reduce\(reduce=.* has no ONNX form'),
    **dict.fromkeys(['median_all', 'median_all_ties', 'median_all_nan', 'median_int',
                     'nanmedian_all'], 'op Median: .*found on the host'),
    # the op's indices, mask or shift are computed on the host from the data: a constant of
    # the graph would be wrong for other inputs (found by the export's second run)
    **dict.fromkeys(['sort', 'sort_first_desc', 'sort_stable_ties', 'sort_stable_ties_desc',
                     'sort_nan', 'sort_nan_desc', 'sort_int', 'msort', 'topk',
                     'topk_smallest_first', 'topk_all_smallest', 'topk_nan',
                     'topk_nan_smallest', 'kthvalue', 'kthvalue_first_keep', 'kthvalue_nan',
                     'median_dim', 'median_dim_keep', 'median_dim_nan', 'nanmedian_dim',
                     'nanmedian_clean', 'mode', 'mode_first_keep', 'mode_int', 'cummax',
                     'cummin_first', 'cummax_ties', 'cummin_ties', 'cummax_nan', 'cummin_nan',
                     'cummax_int'], 'op TakeAlong: .*' + HOST),
    **dict.fromkeys(['max_pool2d_indices', 'max_pool2d_dilation_ceil', 'max_pool2d_ceil_pad',
                     'max_pool1d', 'max_pool1d_ceil_dilation'], 'op PlaneGather: .*' + HOST),
    **dict.fromkeys(['logsumexp_last', 'logsumexp_pair_keep', 'logsumexp_int', 'logsumexp'],
                    'op Sub: .*' + HOST),
    'sdpa_bool_mask': 'op Attention: .*' + HOST,   # turned into a float mask on the host
    **dict.fromkeys(['index_select', 'index_select_dim1'], 'op GetItem: .*' + HOST),
    **dict.fromkeys(['where_1arg', 'nonzero_tuple', 'argsort', 'argsort_ties_desc',
                     'unique_float', 'unique_consecutive', 'unique_consecutive_dim',
                     'searchsorted_1d', 'searchsorted_right', 'searchsorted_side_int32',
                     'searchsorted_sorter', 'bucketize', 'bucketize_right', 'histc_ties',
                     'bincount_weights'], 'the output output_0 was ' + HOST),
    **dict.fromkeys(['max_dim', 'max_dim_keep', 'min_dim', 'unique_all', 'unique_dim'],
                    'the output output_1 was ' + HOST),
    # writes ONNX values cannot take (they are immutable)
    **dict.fromkeys(['zero_', 'fill_'], "written in place outside ember's ops"),
    **dict.fromkeys(['add__select', 'clamp__strided', 'exp__transposed', 'mul__slice',
                     'sigmoid__diagonal'], 'writes in place into a view'),
    **dict.fromkeys(['setitem_slice', 'setitem_int', 'setitem_ellipsis', 'setitem_step',
                     'setitem_int_tensor', 'setitem_two_tensors', 'setitem_mask',
                     'setitem_mask_rows', 'setitem_none', 'setitem_empty',
                     'setitem_scalar_slice', 'setitem_scalar_mask', 'setitem_scalar_0d',
                     'scatter', 'scatter_big_src', 'scatter_value', 'scatter_', 'index_fill',
                     'index_fill_tensor', 'index_fill_'], r'index assignment .* cannot be'),
    # indexing ONNX's Gather, GatherND and Compress do not cover
    'getitem_bool_scalar': 'op GetItem: indexing by a Python bool',
    'getitem_separated': 'op GetItem: indexing by several index tensors apart',
    'getitem_none_tensor': 'op GetItem: indexing by several index tensors, or by an index',
}

CASES = [pytest.param(c, id=c.name) for table in TABLES for c in table]


def exported(case):
    """The case as a function of its tensor inputs (its other arguments closed over), and
    those inputs as arrays."""
    arrs = arrays(case, case.shapes[0], case.dtypes[0], 0)
    where = [i for i, a in enumerate(arrs) if isinstance(a, np.ndarray)]

    def fn(*ts):
        xs = list(arrs)
        for i, t in zip(where, ts):
            xs[i] = t
        return tuple(o for o in outputs(case.fn(ember, *xs)) if isinstance(o, ember.Tensor))
    return fn, [arrs[i] for i in where]


COMPLEX = 'complex tensors .* have no ONNX Runtime kernels'


def refusal(case):
    """The ExportError message (a regex) the case must raise, or None where it exports: the
    listed ones, and every case with a complex input or result (ONNX Runtime has no complex
    kernels)."""
    if case.name in REFUSED:
        return REFUSED[case.name]
    fn, arrs = exported(case)
    if any(a.dtype.kind == 'c' for a in arrs) or \
            any(o.dtype.is_complex for o in fn(*(ember.tensor(a) for a in arrs))):
        return COMPLEX
    return None


@pytest.mark.parametrize('case', CASES)
def test_onnx_runtime_equals_ember(case):
    fn, arrs = exported(case)
    args = tuple(ember.tensor(a) for a in arrs)
    reason = refusal(case)
    if reason is not None:
        with pytest.raises(ember.onnx.ExportError, match=reason):
            export_bytes(fn, args)
        return
    got = run_ort(export_bytes(fn, args), arrs)
    want = fn(*(ember.tensor(a) for a in arrs))
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want)):
        assert_matches(g, w, f'{case.name} output {k}')


def test_refused_names_real_cases():
    names = {c.name for table in TABLES for c in table}
    assert set(REFUSED) <= names, set(REFUSED) - names
    assert all(re.compile(r) for r in REFUSED.values())
