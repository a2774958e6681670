"""Interpretability: which parts of an input a model's output depends on, with Captum's
algorithms under Captum's names (``captum.attr``), on ember models.

Each algorithm is built on the model (or any function of the inputs) and its
``attribute(inputs, target=...)`` returns attributions shaped like the inputs (a layer's
output, for ``LayerGradCam``). The arithmetic follows Captum 0.9 step by step, and the tests
check each algorithm against Captum on the same PyTorch model within float32 rounding;
docs/differences.md lists where ember differs.

>>> model = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.ReLU(), ember.nn.Linear(8, 3))
>>> ig = ember.explain.IntegratedGradients(model)
>>> attr, delta = ig.attribute(ember.randn(2, 4), target=0, return_convergence_delta=True)
>>> attr.shape, delta.shape
(ember.Size([2, 4]), ember.Size([2]))
"""
from .deeplift import DeepLift
from .gradient import Attribution, InputXGradient, IntegratedGradients, NoiseTunnel, Saliency
from .layer import LayerAttribution, LayerGradCam
from .perturbation import FeatureAblation, Occlusion

__all__ = ['Attribution', 'Saliency', 'InputXGradient', 'IntegratedGradients', 'NoiseTunnel',
           'DeepLift', 'FeatureAblation', 'Occlusion', 'LayerAttribution', 'LayerGradCam']
