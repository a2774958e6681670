"""The benchmark's compiled columns: ember.compile's step runs in its own worker, its losses
are eager's, its timed steps leave out the capture; a compiled runner that fails is a note,
not a crash (torch.compile is left out here: it takes seconds to compile)."""
import pytest

pytest.importorskip('torch')

from bench.__main__ import parse_args  # noqa: E402
from bench.run import _exception_line, run_all, table  # noqa: E402


def test_ember_compiled_w1_w6_runs_and_matches_eager():
    report = run_all(['W1', 'W6'], steps=3, repeats=1, out='', memory=False,
                     log=lambda s: None, compiled=('ember',))
    assert report['compiled'] == ['ember']
    for r in report['workloads']:
        c = r['ember_compiled']
        assert 'torch_compiled' not in r
        assert c['compile_steps'] == [0]              # the capture, and only it
        assert len(c['first_call_s']) == 1 and c['cold_first_call_s'] > 0
        assert c['median_step_s'] > 0 and c['ratio']['median'] > 0
        assert c['losses'] == r['ember']['losses']    # replay gives eager's bits
        assert c['loss_rel_diff'] == 0 and c['graphs']['replays']
    text = table(report)
    assert '| ember.compile ms/step | torch.compile ms/step |' in text
    assert '| W6 overhead |' in text.split('| ember.compile ms/step |')[1]


def test_a_failed_or_eager_compiled_runner_is_a_note():
    ok = dict(median_step_s=1e-3, ratio=dict(median=0.5, min=0.4, max=0.6),
              over_eager=dict(median=0.7), median_compile_s=0.01, loss_rel_diff=0.0)
    w = dict(key='W3', name='mlp', steps=2, repeats=1, compiled=['ember', 'torch'],
             ratio=dict(median=1, min=1, max=1), trend_agrees=True, tail_rel_diff=0,
             memory_ratio=None,
             ember=dict(median_step_s=1e-3, final_loss=1.0, peak_mib=None),
             torch=dict(median_step_s=1e-3, final_loss=1.0, peak_mib=None),
             ember_compiled=dict(ok, graphs=dict(replays=False, graph_breaks=2,
                                                 breaks=['.ctypes is not traced (x.py:1)'])),
             torch_compiled=dict(error='InvalidCxxCompiler: No working C++ compiler found',
                                 worker=dict(cxx='none: InvalidCxxCompiler')))
    report = dict(machine=dict(cpu='cpu', logical_cpus=1, platform='p', python='3', commit='c'),
                  software=dict(ember='0', torch='0', numpy='0', blas=[]), device='cpu',
                  device_name='cpu', amp=None, threads=1, memory_method='m', workloads=[w])
    text = table(report)
    assert '| W3 mlp | 1.000 (eager) | failed | 0.50 (0.40-0.60) | - | 0.70 |' in text
    assert 'note: W3: torch.compile failed: InvalidCxxCompiler: No working C++ compiler' in text
    assert 'note: W3: ember.compile ran eagerly (2 graph breaks): .ctypes is not traced' in text


def test_compiled_flag_and_exception_line():
    assert parse_args([]).compile == ('ember', 'torch')
    assert parse_args(['--compiled', 'ember']).compile == ('ember',)
    assert parse_args(['--compiled', 'none']).compile == ()
    with pytest.raises(SystemExit):
        parse_args(['--compiled', 'yes'])
    tb = ('Traceback...\n  File "x", line 1\nBackendCompilerFailed: raised:\n'
          'InvalidCxxCompiler: none found\n\nSet TORCHDYNAMO_VERBOSE=1 for more')
    assert _exception_line(tb) == 'InvalidCxxCompiler: none found'


def test_losses_part_only_where_the_first_steps_differ_or_the_runs_part():
    from bench.run import _compiled

    def run(losses, compile_steps=(0,)):
        return dict(steps=len(losses), losses=losses, step_times=[1e-3] * len(losses),
                    compile_steps=list(compile_steps))
    eager = [2.0 * 0.99 ** i for i in range(40)]
    drift = [x * (1 + 1e-7 * 2 ** (i / 3)) for i, x in enumerate(eager)]   # grows late
    wrong = [x * (1.01 if i == 1 else 1) for i, x in enumerate(eager)]
    for losses, part in ((eager, False), (drift, False), (wrong, True)):
        runs = dict(ember=[run(eager, ())], torch=[run(eager, ())])
        d = _compiled([run(losses)], runs, dict(losses=eager), dict(framework='ember'))
        assert d['losses_part'] is part and d['compile_steps'] == [0]
        assert d['ratio']['median'] == 1.0 and d['median_step_s'] == 1e-3
    assert d['loss_rel_diff'] > 0.009
