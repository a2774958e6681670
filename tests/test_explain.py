"""ember.explain against Captum: each algorithm, on the MLP of benchmark W3 and on LeNet-5
(bench/workloads.py), built in both frameworks from the same NumPy weights, on the same
inputs, must give Captum's attributions within float32 rounding.

The bound (docs/testing.md): two float32 computations of a result that sums ``n`` terms agree
within ``tol(float32, n)`` relative to the magnitude of the terms. An attribution is a chain
of such sums, forward and back through every layer (and over IG's steps), so ``n`` here is the
total of the reductions along the chain, and the magnitude is the size of the attribution
map (its largest element) where gradients cancel, or of the model's outputs for the
perturbation methods, whose attributions are differences of outputs.
"""
import numpy as np
import pytest

import ember
from tests.helpers import tol

torch = pytest.importorskip('torch')
captum_attr = pytest.importorskip('captum.attr')
# Captum warns, on every call, that DeepLift sets hooks and that inputs get requires_grad
pytestmark = [pytest.mark.filterwarnings('ignore:Setting forward, backward hooks:UserWarning'),
              pytest.mark.filterwarnings('ignore:Input Tensor 0 did not already:UserWarning')]

from bench.workloads import init_weights, lenet, load_weights, torch_like_init  # noqa: E402

# the sums along each model's forward and backward chain (inputs of each product, both ways)
MLP_N = 2 * (784 + 512 + 512 + 10)
LENET_N = 2 * (25 + 150 + 400 + 120 + 84 + 10) + 4 + 4   # conv 1x5x5, 6x5x5; two 2x2 pools


def mlp(fw):
    nn = fw.nn
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                         nn.Linear(512, 10))


def pair(build):
    """The model in ember and in torch with the same weights, in eval mode."""
    e, t = build(ember), build(torch)
    weights = init_weights(t, torch_like_init, seed=1)
    load_weights(ember, e, weights)
    load_weights(torch, t, weights)
    return e.eval(), t.eval()


@pytest.fixture(scope='module')
def models():
    x_mlp = np.random.default_rng(2).standard_normal((3, 784)).astype(np.float32)
    images, labels = ember.datasets.mnist_5k()
    digits = ((images.numpy()[::997][:4] - 0.1307) / 0.3081).astype(np.float32)[:, None]
    # NOTE: max pooling's gradient jumps where two values of a window tie. The digits' flat
    # background makes exact ties, and IG's points (b + alpha * (x - b): x to within an ulp at
    # alpha = 1) turn them into ties within rounding, which ember's and torch's convolutions
    # break differently. A little noise keeps every window's values apart.
    digits += np.random.default_rng(6).normal(0, 0.05, digits.shape).astype(np.float32)
    return {'mlp': (*pair(mlp), x_mlp, MLP_N), 'lenet': (*pair(lenet), digits, LENET_N)}


def close(got, want, n, scale=None, what=''):
    """``got`` (ember) within float32 rounding of ``want`` (Captum): ``tol(float32, n)``
    relative to ``scale`` (by default the largest attribution). Returns the max abs diff."""
    got, want = got.detach().numpy().astype(np.float64), want.detach().numpy().astype(np.float64)
    assert got.shape == want.shape, f'{what}: shape {got.shape} vs {want.shape}'
    scale = np.abs(want).max() if scale is None else scale
    err = np.abs(got - want).max()
    assert err <= tol(np.float32, n) * scale, (
        f'{what}: max |diff| {err:.3g} > tol(float32, {n}) x {scale:.3g} = '
        f'{tol(np.float32, n) * scale:.3g}')
    return err


TARGETS = {'mlp': [3, 0, 7], 'lenet': 5}


def both(key, models):
    e, t, x, n = models[key]
    return e, t, ember.from_numpy(x.copy()), torch.from_numpy(x.copy()), n


@pytest.mark.parametrize('key', ['mlp', 'lenet'])
@pytest.mark.parametrize('abs_', [True, False])
def test_saliency(models, key, abs_):
    e, t, xe, xt, n = both(key, models)
    got = ember.explain.Saliency(e).attribute(xe, target=TARGETS[key], abs=abs_)
    want = captum_attr.Saliency(t).attribute(xt, target=TARGETS[key], abs=abs_)
    close(got, want, n, what='Saliency')


@pytest.mark.parametrize('key', ['mlp', 'lenet'])
def test_input_x_gradient(models, key):
    e, t, xe, xt, n = both(key, models)
    got = ember.explain.InputXGradient(e).attribute(xe, target=TARGETS[key])
    want = captum_attr.InputXGradient(t).attribute(xt, target=TARGETS[key])
    close(got, want, n, what='InputXGradient')


@pytest.mark.parametrize('key', ['mlp', 'lenet'])
@pytest.mark.parametrize('method, n_steps, batch', [('gausslegendre', 50, None),
                                                    ('riemann_trapezoid', 20, 16),
                                                    ('riemann_middle', 8, None)])
def test_integrated_gradients(models, key, method, n_steps, batch):
    e, t, xe, xt, n = both(key, models)
    base = np.random.default_rng(3).standard_normal(xe.shape).astype(np.float32) * 0.1
    got, got_delta = ember.explain.IntegratedGradients(e).attribute(
        xe, baselines=ember.from_numpy(base), target=TARGETS[key], n_steps=n_steps,
        method=method, internal_batch_size=batch, return_convergence_delta=True)
    want, want_delta = captum_attr.IntegratedGradients(t).attribute(
        xt, baselines=torch.from_numpy(base), target=TARGETS[key], n_steps=n_steps,
        method=method, internal_batch_size=batch, return_convergence_delta=True)
    close(got, want, n + n_steps, what='IntegratedGradients')
    # the delta: a sum of all attributions less an output difference
    scale = np.abs(want.detach().numpy()).reshape(len(want), -1).sum(1).max()
    close(got_delta, want_delta, n + n_steps + want[0].numel(), scale=scale, what='delta')


@pytest.mark.parametrize('key', ['mlp', 'lenet'])
@pytest.mark.parametrize('nt_type', ['smoothgrad', 'smoothgrad_sq', 'vargrad'])
def test_noise_tunnel(models, key, nt_type, monkeypatch):
    """Both sides draw their noise from one NumPy stream: Captum's ``torch.normal(0, std)``
    and ember's ``_noise`` are replaced by ``std * z``, ``z`` the next standard normal array
    of a ``default_rng(4)`` of each side's own, so they see the same noisy inputs in the same
    order (per batch of samples, per input); all else is each library's own code."""
    e, t, xe, xt, n = both(key, models)
    streams = {'torch': np.random.default_rng(4), 'ember': np.random.default_rng(4)}

    def torch_normal(mean, std):
        z = streams['torch'].standard_normal(tuple(std.shape)).astype(np.float32)
        return mean + torch.from_numpy(z) * std

    def ember_noise(shape, stdev, like):
        z = streams['ember'].standard_normal(shape).astype(np.float32)
        return ember.from_numpy(z) * stdev

    monkeypatch.setattr(torch, 'normal', torch_normal)
    monkeypatch.setattr(ember.explain.gradient, '_noise', ember_noise)
    kw = dict(nt_type=nt_type, nt_samples=5, nt_samples_batch_size=2, stdevs=0.2,
              target=TARGETS[key])
    got = ember.explain.NoiseTunnel(ember.explain.Saliency(e)).attribute(xe, **kw)
    want = captum_attr.NoiseTunnel(captum_attr.Saliency(t)).attribute(xt, **kw)
    # squares double the relative error of what they square: 2 n
    close(got, want, 2 * n, what=f'NoiseTunnel {nt_type}')
    # and around IG, with its convergence deltas
    kw = dict(nt_samples=3, stdevs=0.1, target=TARGETS[key], n_steps=10,
              return_convergence_delta=True)
    got, got_delta = ember.explain.NoiseTunnel(ember.explain.IntegratedGradients(e)).attribute(
        xe, **kw)
    want, want_delta = captum_attr.NoiseTunnel(captum_attr.IntegratedGradients(t)).attribute(
        xt, **kw)
    close(got, want, n + 10, what='NoiseTunnel(IG)')
    assert got_delta.shape == want_delta.shape == (3 * len(xe),)


@pytest.mark.parametrize('key', ['mlp', 'lenet'])
@pytest.mark.parametrize('baseline', ['zero', 'random'])
def test_deeplift(models, key, baseline):
    e, t, xe, xt, n = both(key, models)
    base = np.zeros(xe.shape, np.float32) if baseline == 'zero' else \
        np.random.default_rng(5).standard_normal(xe.shape).astype(np.float32) * 0.5
    got, got_delta = ember.explain.DeepLift(e).attribute(
        xe, baselines=ember.from_numpy(base), target=TARGETS[key], return_convergence_delta=True)
    want, want_delta = captum_attr.DeepLift(t).attribute(
        xt, baselines=torch.from_numpy(base), target=TARGETS[key], return_convergence_delta=True)
    close(got, want, n, what='DeepLift')
    scale = np.abs(want.detach().numpy()).reshape(len(want), -1).sum(1).max()
    close(got_delta, want_delta, n + want[0].numel(), scale=scale, what='DeepLift delta')
    # DeepLIFT's chain rule (follow_captum=False) keeps completeness: the attributions add
    # up to f(x) - f(baseline). Captum's hooks (ember's default) do where no nonlinear module
    # feeds another directly (the MLP), or where the baseline is zero (LeNet, here).
    chained, delta = ember.explain.DeepLift(e, follow_captum=False).attribute(
        xe, baselines=ember.from_numpy(base), target=TARGETS[key], return_convergence_delta=True)
    bound = tol(np.float32, n + want[0].numel()) * scale
    assert np.abs(delta.numpy()).max() <= bound
    if key == 'mlp':
        close(chained, want, n, what='DeepLift(follow_captum=False)')
    else:   # LeNet's ReLUs feed its max pools: Captum's sum misses by 0.4% to 4% here
        misses = np.abs(got_delta.numpy()).max()
        assert (misses > 100 * bound) == (baseline == 'random'), misses


@pytest.mark.parametrize('key', ['mlp', 'lenet'])
def test_deeplift_custom_attribution_func(models, key):
    e, t, xe, xt, n = both(key, models)

    def squared(multipliers, inputs, baselines):   # Captum passes each as a tuple
        return tuple(m * (x - b) ** 2 for m, x, b in zip(multipliers, inputs, baselines))
    base = np.full(xe.shape, 0.25, np.float32)
    got = ember.explain.DeepLift(e).attribute(xe, baselines=ember.from_numpy(base),
                                              target=TARGETS[key],
                                              custom_attribution_func=squared)
    want = captum_attr.DeepLift(t).attribute(xt, baselines=torch.from_numpy(base),
                                             target=TARGETS[key],
                                             custom_attribution_func=squared)
    close(got, want, n, what='DeepLift custom')


def outputs_scale(model, x):
    with torch.no_grad():
        return float(model(x).abs().max())


@pytest.mark.parametrize('key, window, strides', [('mlp', (56,), (28,)),
                                                  ('lenet', (1, 4, 4), (1, 2, 2)),
                                                  ('lenet', (1, 5, 5), 3)])
def test_occlusion(models, key, window, strides):
    e, t, xe, xt, n = both(key, models)
    kw = dict(sliding_window_shapes=window, strides=strides, target=TARGETS[key],
              perturbations_per_eval=8, baselines=0.5)
    got = ember.explain.Occlusion(e).attribute(xe, **kw)
    want = captum_attr.Occlusion(t).attribute(xt, **kw)
    close(got, want, n, scale=outputs_scale(t, xt), what='Occlusion')


@pytest.mark.parametrize('key', ['mlp', 'lenet'])
def test_feature_ablation(models, key):
    e, t, xe, xt, n = both(key, models)
    shape = xe.shape[1:]
    mask = (np.arange(int(np.prod(shape))) // 49).reshape((1,) + tuple(shape))
    for kw in (dict(feature_mask=mask, perturbations_per_eval=4),
               dict(perturbations_per_eval=49)):
        if key == 'lenet' and 'feature_mask' not in kw:
            continue   # every pixel alone: 784 LeNet runs, the MLP covers the default mask
        em = dict(kw, feature_mask=ember.from_numpy(mask)) if 'feature_mask' in kw else kw
        tm = dict(kw, feature_mask=torch.from_numpy(mask)) if 'feature_mask' in kw else kw
        got = ember.explain.FeatureAblation(e).attribute(xe, target=TARGETS[key], **em)
        want = captum_attr.FeatureAblation(t).attribute(xt, target=TARGETS[key], **tm)
        close(got, want, n, scale=outputs_scale(t, xt), what=f'FeatureAblation {kw}')


@pytest.mark.parametrize('layer, relu', [(0, False), (3, True), (3, False)])
def test_layer_grad_cam(models, layer, relu):
    e, t, xe, xt, n = both('lenet', models)
    got = ember.explain.LayerGradCam(e, e[layer]).attribute(xe, target=[1, 2, 3, 4],
                                                            relu_attributions=relu)
    want = captum_attr.LayerGradCam(t, t[layer]).attribute(xt, target=[1, 2, 3, 4],
                                                           relu_attributions=relu)
    close(got, want, n, what='LayerGradCam')
    for mode in ('nearest', 'bilinear'):
        close(ember.explain.LayerAttribution.interpolate(got, (28, 28), mode),
              captum_attr.LayerAttribution.interpolate(want, (28, 28), mode), n + 4,
              scale=np.abs(want.detach().numpy()).max(), what=f'interpolate {mode}')


def test_layer_grad_cam_mlp_and_layer_input(models):
    e, t, xe, xt, n = both('mlp', models)
    got = ember.explain.LayerGradCam(e, e[2]).attribute(xe, target=TARGETS['mlp'],
                                                        attribute_to_layer_input=True)
    want = captum_attr.LayerGradCam(t, t[2]).attribute(xt, target=TARGETS['mlp'],
                                                       attribute_to_layer_input=True)
    close(got, want, n, what='LayerGradCam (layer input)')


# ----------------------------------------------------------------- bad input

def test_errors_name_the_algorithm():
    model = ember.nn.Sequential(ember.nn.Linear(3, 2))
    x = ember.ones(2, 3)
    with pytest.raises(ValueError, match=r'Saliency.attribute: each example has 2 outputs'):
        ember.explain.Saliency(model).attribute(x)
    with pytest.raises(TypeError, match=r'IntegratedGradients.attribute: inputs must be'):
        ember.explain.IntegratedGradients(model).attribute([1.0, 2.0], target=0)
    with pytest.raises(ValueError, match=r"method='simpson' is not one of"):
        ember.explain.IntegratedGradients(model).attribute(x, target=0, method='simpson')
    with pytest.raises(ValueError, match=r'baseline of shape \(4,\) does not fit input of '
                                         r'shape \(2, 3\)'):
        ember.explain.DeepLift(model).attribute(x, baselines=ember.zeros(4), target=0)
    with pytest.raises(ValueError, match=r'a target per example needs .* 3 targets'):
        ember.explain.Saliency(model).attribute(x, target=[0, 1, 0])
    with pytest.raises(ValueError, match=r"nt_type='smooth' is not one of"):
        ember.explain.NoiseTunnel(ember.explain.Saliency(model)).attribute(
            x, nt_type='smooth', target=0)
    with pytest.raises(ValueError, match=r'Occlusion.attribute: sliding window \(4,\) '
                                         r'exceeds the example shape \(3,\)'):
        ember.explain.Occlusion(model).attribute(x, sliding_window_shapes=(4,), target=0)
    with pytest.raises(TypeError, match='DeepLift: model must be an ember.nn.Module'):
        ember.explain.DeepLift(lambda x: x)


def test_deeplift_refuses_a_reused_module():
    relu = ember.nn.ReLU()
    model = ember.nn.Sequential(ember.nn.Linear(3, 3), relu, ember.nn.Linear(3, 3), relu)
    with pytest.raises(RuntimeError, match='ReLU module is called more than once'):
        ember.explain.DeepLift(model).attribute(ember.ones(2, 3), target=0)
    assert not relu._forward_hooks and not relu._backward_hooks   # hooks removed all the same
