"""Neural training problems: determinism, training, certified optima, functional view, batches."""
import math

import numpy as np
import pytest
import torch

import optbench
from optbench import Budget
from optbench.problem import TrainingInstance
from problems import datasets, neural

LOCAL = ["logreg-binary", "logreg-softmax", "least-squares", "ridge", "mlp-mixture", "mlp-spirals", "deep-linear",
         "teacher-student", "digits-mlp", "digits-cnn", "digits-autoencoder", "char-gru"]
DEEPOBS = ["mnist_logreg", "fmnist_2c2d", "cifar10_3c3d"]
# small variants keep the tests fast; the defaults are exercised by the registry-wide checks
SMALL = {
    "mlp-spirals": {"samples": 256},
    "digits-cnn": {"channels": 8},
    "char-gru": {"hidden": 32},
}
CONVEX = ["logreg-binary", "logreg-softmax", "least-squares", "ridge"]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These models are tiny: one thread is faster, and steady when the machine is shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small(name, **params):
    return optbench.get_problem(name, **{**SMALL.get(name, {}), **params})


def test_catalogue_and_tags():
    names = optbench.PROBLEMS.with_tag("neural")
    assert set(LOCAL + DEEPOBS) <= set(names)
    for name in names:
        tags = set(optbench.PROBLEMS.get(name).tags)
        assert len(tags & {"convex", "non-convex"}) == 1, name
        assert len(tags & {"classification", "regression"}) == 1, name
        assert len(tags & {"real-data", "synthetic"}) == 1, name
    assert set(optbench.PROBLEMS.with_tag("convex")) >= set(CONVEX + ["mnist_logreg"])
    assert optbench.get_problem("digits-mlp").default_dtype == torch.float32


@pytest.mark.parametrize("name", LOCAL)
def test_instances_are_deterministic_per_seed(name):
    p = small(name)
    a, b, c = (p.instantiate(seed=s) for s in (0, 0, 1))
    assert a.dim == sum(q.numel() for q in a.params) > 0
    assert all(q.dtype == torch.float32 for q in a.params)
    assert all(torch.equal(q, r) for q, r in zip(a.params, b.params))
    assert not all(torch.equal(q, r) for q, r in zip(a.params, c.params))  # the seed draws the weights...
    for x, y in ((a.train, c.train), (a.test, c.test)):  # ...not the data, which the problem fixes
        assert torch.equal(x[0], y[0]) and torch.equal(x[1], y[1])
    assert a.train[0].shape[0] == a.n_train and a.test[0].shape[0] > 0
    fa, fb = a.objective(), b.objective()
    assert fa.shape == () and torch.isfinite(fa) and torch.equal(fa, fb)
    assert torch.equal(fa, a.objective())  # full batch: the same value every call
    flat = a.flat_objective()
    torch.testing.assert_close(flat(flat.x()), fa)
    metrics = a.evaluate()
    assert {"train_loss", "test_loss"} <= set(metrics)
    if a.stochastic:  # the objective is that of step 0's batch; evaluation points use all samples
        assert name in ("char-gru", "digits-cnn")
        idx = a.batch_indices(0)
        a._batch = a.train
        full = a.objective()
        a._batch = (a.train[0][idx], a.train[1][idx])
        torch.testing.assert_close(a.objective(), fa)
        fa = full
    torch.testing.assert_close(metrics["train_loss"], fa)
    task = a.setup.task
    assert ("test_accuracy" in metrics) == (task == "classification")
    if task == "classification":
        assert 0 <= float(metrics["test_accuracy"]) <= 1


TRAINING = [  # problem, params, lr, steps, check on the final evaluation point
    ("mlp-mixture", {}, 0.01, 150, lambda e, f0: e["test_accuracy"] > 0.7),
    ("mlp-spirals", {}, 0.01, 300, lambda e, f0: e["train_accuracy"] > 0.9 and e["test_accuracy"] > 0.85),
    ("digits-mlp", {}, 0.01, 200, lambda e, f0: e["test_accuracy"] > 0.9),
    ("digits-cnn", {}, 0.01, 200, lambda e, f0: e["test_accuracy"] > 0.9),
    ("digits-autoencoder", {}, 0.01, 200, lambda e, f0: e["test_loss"] < 0.2 * f0),
    ("deep-linear", {}, 0.01, 300, lambda e, f0: e["test_loss"] < 0.01 * f0),
    ("teacher-student", {}, 0.01, 300, lambda e, f0: e["test_loss"] < 0.05 * f0),
    ("char-gru", {"seq_len": 16}, 0.01, 150, lambda e, f0: e["test_bits_per_char"] < 4.0),
]


@pytest.mark.parametrize("name, params, lr, steps, check", TRAINING, ids=[t[0] for t in TRAINING])
def test_adam_trains(name, params, lr, steps, check):
    rec = optbench.run(small(name, **params), "adam", hyperparameters={"lr": lr},
                       budget=Budget(max_steps=steps, eval_every=steps))
    assert rec.status == "budget", rec.traceback
    final = {k: float(v[1][-1]) for k, v in rec.evals.items()}
    f0 = float(rec.evals["train_loss"][1][0])
    assert final["train_loss"] < 0.5 * f0
    assert check(final, f0), final


def lipschitz(name, inst):
    """A global bound on the largest Hessian eigenvalue of the convex problems."""
    x = inst.train[0]
    a = torch.cat([x, torch.ones(x.shape[0], 1, dtype=x.dtype)], 1)
    gram = float(torch.linalg.eigvalsh(a.T @ a / x.shape[0])[-1])
    curvature = {"logreg-binary": 0.25, "logreg-softmax": 0.5}.get(name, 1.0)  # sigma' <= 1/4; Boehning 1992
    return curvature * gram + getattr(inst.problem, "lam", 0.0)


CERTIFY = {  # well-conditioned settings so gradient descent reaches the target in a few hundred steps
    "logreg-binary": {"lam": 0.1, "samples": 128},
    "logreg-softmax": {"lam": 0.1, "samples": 128, "features": 5, "classes": 3},
    "least-squares": {"kappa": 2.0, "samples": 128, "features": 8},
    "ridge": {"kappa": 2.0, "samples": 128, "features": 8, "lam": 0.1},
}


@pytest.mark.parametrize("name", CONVEX)
def test_convex_f_star_is_certified(name):
    p = optbench.get_problem(name, **CERTIFY[name])
    opt = p.optimum()
    assert p.f_star == opt.fun and opt.grad_norm < 1e-12
    inst = p.instantiate(seed=5, dtype=torch.float64)
    f = inst.flat_objective()
    x = torch.tensor(opt.x, requires_grad=True)
    (g,) = torch.autograd.grad(f(x), x)
    assert float(g.norm()) < 1e-12 and float(f(x).detach()) == opt.fun  # an independent evaluation agrees
    assert float(inst.objective().detach()) > opt.fun  # a random start is worse

    lr = 1.0 / lipschitz(name, inst)
    for optimizer, hp, steps in (("lbfgs", {}, 100), ("gd", {"lr": lr}, 1500)):
        rec = optbench.run(p, optimizer, hyperparameters=hp, dtype="float64",
                           budget=Budget(max_steps=steps, target_gap=1e-9))
        assert rec.status == "converged", (optimizer, rec.status, rec.gap, rec.message)
        assert rec.f_star == opt.fun and -1e-12 <= rec.gap <= 1e-9
        assert np.all(rec.trace["fun"] >= opt.fun - 1e-12)  # nothing goes below the certified minimum


def test_f_star_is_cached_and_fixed_by_the_data_seed():
    neural._optimum.cache_clear()
    p = optbench.get_problem("logreg-binary", samples=64, features=4)
    first = p.optimum()
    again = optbench.get_problem("logreg-binary", samples=64, features=4, batch_size=16)
    assert again.optimum() is first  # the minibatch size does not change the objective
    assert neural._optimum.cache_info().hits == 1 and neural._optimum.cache_info().misses == 1
    other = optbench.get_problem("logreg-binary", samples=64, features=4, data_seed=1)
    assert other.f_star != first.fun
    # a run's seed changes the start, not the data: the instance of every seed shares f*
    a, b = (p.instantiate(seed=s) for s in (0, 1))
    assert a.f_star == b.f_star == first.fun and torch.equal(a.train[0], b.train[0])
    assert "||grad f(x*)||" in p.describe()["f* certificate"]


def test_known_optima_of_deep_linear_and_teacher_student():
    assert optbench.get_problem("deep-linear").f_star == 0.0
    assert optbench.get_problem("teacher-student").f_star == 0.0
    assert optbench.get_problem("teacher-student", student_width=4).f_star is None
    assert optbench.get_problem("teacher-student", noise=0.1).f_star is None
    # width 3 < 8: reduced-rank regression; the optimum of the rank-3 product is known in closed form
    p = optbench.get_problem("deep-linear", width=3, depth=2, samples=64)
    inst = p.instantiate(seed=0, dtype=torch.float64)
    x, y = inst.train
    u, s, vh = torch.linalg.svd(x @ torch.linalg.lstsq(x, y).solution, full_matrices=False)
    best = (u[:, :3] * s[:3]) @ vh[:3]  # Eckart-Young: the best rank-3 fit in the column space of X
    assert p.f_star > 0
    assert math.isclose(p.f_star, float(0.5 * (best - y).square().sum(-1).mean()), rel_tol=1e-12)
    rec = optbench.run(p, "lbfgs", dtype="float64", budget=Budget(max_steps=300, target_gap=1e-8))
    assert rec.status == "converged" and rec.gap >= -1e-12


def test_hessian_of_tiny_logreg_matches_closed_form():
    p = optbench.get_problem("logreg-binary", samples=16, features=3, lam=0.1)
    inst = p.instantiate(seed=0, dtype=torch.float64)
    f = inst.flat_objective()
    x0 = f.x()
    h = torch.func.hessian(f)(x0)
    # parameters: weight (1, 3), then bias; H = A^T diag(s (1 - s)) A / n + lam I with A = [X, 1]
    a = torch.cat([inst.train[0], torch.ones(16, 1, dtype=torch.float64)], 1)
    s = torch.sigmoid(a @ x0)
    expected = a.T @ (a * (s * (1 - s))[:, None]) / 16 + 0.1 * torch.eye(4, dtype=torch.float64)
    torch.testing.assert_close(h, expected, rtol=1e-12, atol=1e-14)


HVP = [("mlp-mixture", {"samples": 32, "width": 8}), ("digits-cnn", {"channels": 2}),
       ("char-gru", {"hidden": 8, "embedding": 4, "batch_size": 4, "seq_len": 8}),
       ("digits-autoencoder", {"hidden": 8, "code": 2})]


@pytest.mark.parametrize("name, params", HVP, ids=[h[0] for h in HVP])
def test_hvp_matches_finite_differences_of_gradients(name, params):
    inst = optbench.get_problem(name, **params).instantiate(seed=0, dtype=torch.float64)
    if name == "digits-cnn":  # a slice of the data keeps it fast; max-pool ties would break the check
        inst._batch = (inst.train[0][:64], inst.train[1][:64])
    f = inst.flat_objective()
    x = f.x()
    v = torch.randn(x.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    _, hvp = torch.func.jvp(torch.func.grad(f), (x,), (v,))
    eps = 1e-5
    grad = torch.func.grad(f)
    fd = (grad(x + eps * v) - grad(x - eps * v)) / (2 * eps)
    assert float((hvp - fd).norm() / hvp.norm()) < 1e-6


def test_batches_depend_only_on_seed_and_step():
    p = optbench.get_problem("mlp-mixture", samples=100, batch_size=32)
    a, b, c = (p.instantiate(seed=s) for s in (0, 0, 1))
    assert a.stochastic and a._batches_per_epoch == 3  # 100 // 32; the remainder is dropped
    order = [a.batch_indices(k).clone() for k in range(7)]
    for k in (5, 0, 6, 3, 3, 1, 4, 2):  # another call pattern gives the same batches
        assert torch.equal(b.batch_indices(k), order[k])
    epoch = torch.cat(order[:3])
    assert epoch.unique().numel() == 96  # without replacement within an epoch
    assert not torch.equal(torch.cat(order[3:6]), epoch)  # reshuffled every epoch
    assert not torch.equal(c.batch_indices(0), order[0])  # another seed, another order
    # every closure call of a step sees that step's batch
    a.begin_step(4)
    f1, f2 = a.objective(), a.objective()
    assert torch.equal(f1, f2)
    x, y = a.train
    idx = order[4]
    torch.testing.assert_close(f1, torch.nn.functional.cross_entropy(a.model(x[idx]), y[idx]))
    a.begin_step(5)
    assert not torch.equal(a.objective(), f1)
    assert optbench.get_problem("mlp-mixture").instantiate(seed=0).batch_indices(3) is None


def test_minibatch_order_is_the_same_for_every_optimizer(monkeypatch):
    seen, current = {}, [None]
    original = TrainingInstance.begin_step

    def spy(self, step):
        seen.setdefault(current[0], []).append(self.batch_indices(step).tolist())
        original(self, step)

    monkeypatch.setattr(TrainingInstance, "begin_step", spy)
    p = optbench.get_problem("logreg-softmax", samples=64, features=4, batch_size=16)
    for optimizer in ("gd", "adam", "lbfgs"):
        current[0] = optimizer
        rec = optbench.run(p, optimizer, seed=3, budget=Budget(max_steps=9))
        assert rec.status == "budget", rec.traceback
    assert len(seen["gd"]) >= 10 and seen["gd"] == seen["adam"] == seen["lbfgs"]


def test_stochastic_run_reports_the_full_training_loss():
    p = optbench.get_problem("digits-mlp", width=16, batch_size=64)
    rec = optbench.run(p, "adam", hyperparameters={"lr": 0.01}, budget=Budget(max_steps=40, eval_every=20))
    steps, train_loss = rec.evals["train_loss"]
    assert steps.tolist() == [0, 20, 40]
    assert rec.fun == pytest.approx(float(train_loss[-1]), rel=1e-6)  # not the last minibatch's value
    assert not np.isclose(rec.fun, rec.trace["fun"][-1], rtol=1e-6)
    with pytest.raises(optbench.OptbenchError, match="batch_size=5000 exceeds the 1438 training samples"):
        optbench.get_problem("digits-mlp", batch_size=5000).instantiate(seed=0)


def test_language_model_metrics():
    p = optbench.get_problem("char-gru", hidden=8, embedding=4)
    inst = p.instantiate(seed=0)
    vocab, train, test = neural.char_windows(datasets.load_text(), 32, 0.1)
    assert len(vocab) == 72 and inst.train[0].shape == (train[0].shape[0], 32)
    assert torch.equal(inst.train[0][:, 1:], inst.train[1][:, :-1])  # targets are the next characters
    assert inst.model(inst.test[0][:3]).shape == (3, 32, 72)
    m = inst.evaluate()
    torch.testing.assert_close(m["test_bits_per_char"], m["test_loss"] / math.log(2))
    assert abs(float(m["train_bits_per_char"]) - math.log2(72)) < 0.5  # an untrained model is near uniform


def test_evaluation_in_chunks_equals_one_pass():
    inst = optbench.get_problem("digits-mlp", width=8).instantiate(seed=0, dtype=torch.float64)
    whole = inst.evaluate()
    inst.setup.eval_chunk = 100  # 1438 training samples: 14 full chunks and one of 38
    chunked = inst.evaluate()
    for k in whole:
        torch.testing.assert_close(chunked[k], whole[k], rtol=1e-12, atol=0)


def test_invalid_parameters_are_config_errors():
    from optbench.errors import ConfigError

    for name, params, match in (
        ("logreg-binary", {"lam": 0.0}, "lam=0.0 must be > 0"),
        ("least-squares", {"samples": 10, "features": 10}, "must exceed features"),
        ("mlp-spirals", {"activation": "sigmoid"}, "activation='sigmoid' is not one of"),
        ("char-gru", {"text": "hamlet"}, "shipped texts"),
        ("digits-mlp", {"batch_size": -1}, "batch_size=-1"),
        ("teacher-student", {"depth": 0}, "depth=0 must be a positive integer"),
    ):
        with pytest.raises(ConfigError, match=match):
            optbench.get_problem(name, **params)
    assert optbench.get_problem("ridge", samples=10, features=20).f_star > 0  # ridge needs no overdetermination


# ---------------------------------------------------------------------------------------
# DeepOBS problems on tiny files in the official formats
# ---------------------------------------------------------------------------------------
def tiny_data(root, n_train=12, n_test=6):
    rng = np.random.default_rng(0)
    for name in ("mnist", "fashion-mnist"):
        (root / name).mkdir(parents=True)
        for prefix, n in (("train", n_train), ("t10k", n_test)):
            datasets.write_idx(root / name / f"{prefix}-images-idx3-ubyte.gz",
                               rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
            datasets.write_idx(root / name / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, n, dtype=np.uint8))
    (root / datasets.CIFAR10_DIR).mkdir()
    for name in datasets.CIFAR10_FILES:
        n = n_test if name == "test_batch.bin" else n_train // 5 + 1
        records = rng.integers(0, 256, (n, 3073), dtype=np.uint8)
        records[:, 0] %= 10  # the label byte
        (root / datasets.CIFAR10_DIR / name).write_bytes(records.tobytes())


@pytest.mark.parametrize("name, n_params", [("mnist_logreg", 7_850), ("fmnist_2c2d", 3_274_634),
                                            ("cifar10_3c3d", 895_210)])
def test_deepobs_problems(tmp_path, name, n_params):
    tiny_data(tmp_path)
    p = optbench.get_problem(name, data_dir=str(tmp_path), batch_size=4, train_eval_size=8)
    inst = p.instantiate(seed=0)
    assert inst.dim == n_params  # the published parameter counts (Schneider et al. 2019, table 1)
    assert inst.train[0].dtype == torch.uint8 and inst.train_eval[0].shape[0] == 8
    x, y = inst.test
    out = inst.model(x)
    assert out.shape == (x.shape[0], 10) and out.dtype == torch.float32
    flat = inst.flat_objective()
    torch.testing.assert_close(flat(flat.x()), inst.objective())
    if name == "mnist_logreg":  # zero initialisation: uniform predictions
        assert float(inst.objective().detach()) == pytest.approx(math.log(10), rel=1e-6)
    if name == "cifar10_3c3d":  # L2 on the weights only, 0.002 / 2 * sum ||W||^2
        data = torch.nn.functional.cross_entropy(inst.model(inst._batch[0]), inst._batch[1])
        weights = sum(q.square().sum() for n, q in inst.model.named_parameters() if n.endswith("weight"))
        torch.testing.assert_close(inst.objective() - data, 0.001 * weights)
    rec = optbench.run(p, "adam", budget=Budget(max_steps=2, eval_every=2))
    assert rec.status == "budget" and set(rec.evals) == {"train_loss", "train_accuracy", "test_loss", "test_accuracy"}


def test_deepobs_missing_data_is_a_clear_error(tmp_path):
    p = optbench.get_problem("fmnist_2c2d", data_dir=str(tmp_path))  # constructing needs no data
    assert "missing" in p.describe()["data"]
    with pytest.raises(datasets.DatasetError, match=r"'fashion-mnist' is missing .*train-images-idx3-ubyte\[\.gz\]"):
        p.instantiate(seed=0)
    with pytest.raises(datasets.DatasetError, match="download"):  # an environment error, not a result
        optbench.run(p, "adam", budget=Budget(max_steps=1))


def test_same_max_pool_pads_like_tensorflow():
    pool = neural.SameMaxPool2d(3, 2)
    x = torch.arange(2 * 28 * 28, dtype=torch.float64).view(1, 2, 28, 28).neg()
    out = pool(x)
    assert out.shape == (1, 2, 14, 14)
    # TF "SAME": out = ceil(28 / 2) = 14, padding (13 * 2 + 3 - 28) = 1 cell after, none before
    ref = torch.nn.functional.max_pool2d(torch.nn.functional.pad(x, (0, 1, 0, 1), value=-math.inf), 3, 2)
    assert torch.equal(out, ref)
    assert torch.equal(out[0, 0, 0, 0], x[0, 0, 0, 0])  # window [0, 3) x [0, 3): max at the corner
    assert neural.SameMaxPool2d(2, 2)(x).shape == (1, 2, 14, 14)
    assert neural.SameMaxPool2d(3, 2)(torch.zeros(1, 1, 7, 7)).shape == (1, 1, 4, 4)
