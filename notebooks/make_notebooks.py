"""Write the numbered notebooks from the cell sources below, executed, with their outputs and plots.

Run ``python notebooks/make_notebooks.py`` (all) or name some (``... 03_kernels_and_benchmarks.ipynb``): each
notebook is executed top to bottom in small mode with nbclient and stored with its outputs, so readers see
the printed results and the inline plots without running anything. The test suite reruns them and checks the
committed sources match these (outputs vary from run to run: timings, training noise).

Notebooks read ``TORCHLAYERS_SMALL=1`` (set here and by the test suite) to run on small settings. The EWT notebooks read
the corpus ``examples.ewt.resolve_corpus`` picks: ``$TORCHLAYERS_EWT``, ``../shared/data/ud-english-ewt`` when
present, else the excerpt in ``examples/data/ud-english-ewt``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent
NOTEBOOKS = {}


def notebook(name):
    def register(fn):
        NOTEBOOKS[name] = fn
        return fn

    return register


def cells(*items):
    """Strings starting with "<md>" become markdown cells, the rest code cells."""
    def cell(s):
        return new_markdown_cell(s.strip()[4:].strip()) if s.strip().startswith("<md>") else new_code_cell(s.strip())

    return [cell(s) for s in items]


# One plotting cell for the training curves of 01 and 02: ``curves`` maps an implementation to its per-epoch
# (dev loss, dev accuracy) pairs, epoch 0 being the untrained model.
PLOT_CURVES = (
    "%matplotlib inline\n"
    "import matplotlib.pyplot as plt\n"
    "fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(9, 3.2))\n"
    "for (impl, points), style in zip(curves.items(), ('-o', '--s')):  # dashed: thinc (the curves overlap)\n"
    "    loss_ax.plot(range(len(points)), [p[0] for p in points], style, label=impl)\n"
    "    acc_ax.plot(range(len(points)), [p[1] for p in points], style, label=impl)\n"
    "loss_ax.set(xlabel='epoch', ylabel='dev loss (NLL)', title='{title} loss')\n"
    "acc_ax.set(xlabel='epoch', ylabel='{metric}', title='{title} {metric}')\n"
    "for ax in (loss_ax, acc_ax):\n"
    "    ax.set_xticks(range(len(points))); ax.grid(alpha=0.3); ax.legend()\n"
    "fig.tight_layout()\n"
    "plt.show()"
)

SETUP = """
import os, sys
SMALL = os.environ.get("TORCHLAYERS_SMALL") == "1"
sys.path.insert(0, os.path.abspath(".."))  # the repository root, for examples/ and benchmarks/
import torch, numpy
torch.manual_seed(0)
"""


@notebook("00_quickstart.ipynb")
def quickstart():
    return cells(
        "<md> # 00 · Quickstart: one model, two faces\n\ntorchlayers rebuilds Thinc's layers as `torch.nn.Module`s. "
        "This notebook builds a model with Thinc's operators, infers its shapes from data, trains it through the "
        "**Thinc face** (`model(X, is_train=True) -> (Y, backprop)`) and through the **torch face** (`model(X)`), "
        "and saves and reloads it bitwise.",
        SETUP,
        "from torchlayers import Model, Relu, Dropout, Softmax, chain\n\n"
        "with Model.define_operators({'>>': chain}):\n"
        "    model = Relu(nO=32) >> Dropout(0.1) >> Relu(nO=32) >> Softmax()\n"
        "print(model.name)\n"
        "print([node.name for node in model.walk()])",
        "<md> ## Shape inference\nDims that were not given print as `?` and are filled by `initialize(X, Y)` from "
        "samples.",
        "from sklearn.datasets import load_digits\n"
        "digits = load_digits()\n"
        "X = torch.tensor(digits.data, dtype=torch.float32) / 16\n"
        "y = torch.tensor(digits.target)\n"
        "Y = torch.nn.functional.one_hot(y, 10).float()\n"
        "model.initialize(X=X[:5], Y=Y[:5])\n"
        "print(model.get_dim('nI'), model.get_dim('nO'))\n"
        "print(model.layers[1])",
        "<md> ## The Thinc face\nThinc's training loop runs unchanged: `backprop` takes the loss gradient "
        "(Softmax expects d_logits, as Thinc's losses produce) and `finish_update` takes a torch optimizer.",
        "optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)\n"
        "epochs = 2 if SMALL else 10\n"
        "for epoch in range(epochs):\n"
        "    for idx in torch.randperm(len(X)).split(64):\n"
        "        Yh, backprop = model(X[idx], is_train=True)\n"
        "        backprop((Yh - Y[idx]) / len(idx))\n"
        "        model.finish_update(optimizer)\n"
        "    acc = (model.predict(X).argmax(1) == y).float().mean().item()\n"
        "    print(f'epoch {epoch}: train accuracy {acc:.3f}')\n"
        "assert acc > 0.8",
        "<md> ## The torch face\nThe same object is a plain `nn.Module`: hooks, `torch.compile` and autograd work as "
        "usual.",
        "compiled = torch.compile(model, fullgraph=True, backend='aot_eager')\n"
        "model.train()\n"
        "for idx in torch.randperm(len(X)).split(64):\n"
        "    loss = torch.nn.functional.nll_loss(compiled(X[idx]).clamp_min(1e-9).log(), y[idx])\n"
        "    optimizer.zero_grad(); loss.backward(); optimizer.step()\n"
        "print('loss', loss.item())",
        "<md> ## Attributes are live\nChanging `attrs['dropout_rate']` on a node takes effect on the next call.",
        "dropout = next(n for n in model.walk() if n.name == 'dropout')\n"
        "dropout.attrs['dropout_rate'] = 0.5\n"
        "hidden = model.layers[0].layers[0]  # relu>>dropout\n"
        "out, _ = hidden(X[:256], is_train=True)\n"
        "print('fraction dropped', (out == 0).float().mean().item())",
        "<md> ## Save and load\n`to_bytes` writes safetensors plus a JSON header of the node tree; no pickle.",
        "data = model.to_bytes()\n"
        "with Model.define_operators({'>>': chain}):\n"
        "    fresh = Relu(nO=32) >> Dropout(0.1) >> Relu(nO=32) >> Softmax()\n"
        "fresh.from_bytes(data)\n"
        "assert torch.equal(fresh.predict(X), model.predict(X))\n"
        "print(len(data), 'bytes; reloaded bitwise')",
    )


@notebook("04_deployment.ipynb")
def deployment():
    return cells(
        "<md> # 04 · Deployment: the EWT tagger four ways\n\nThe spaCy-style tagger of notebook 01 "
        "(`examples/tagger.py::build_tagger`: Ragged (N, 4) hashed ids -> Ragged (N, 17) tag probabilities), "
        "briefly trained on the UD English-EWT corpus `examples.ewt.resolve_corpus` picks (the bundled excerpt on a "
        "fresh clone), then deployed with `torch.compile`, `torch.export` (saved and loaded), ONNX through "
        "onnxruntime, and TorchScript. Every form is run on two dev batches of different sizes and compared with "
        "eager: the largest absolute difference of the probabilities, and whether the predicted tags are equal.",
        SETUP,
        "import logging, warnings, tempfile\n"
        "warnings.simplefilter('ignore')  # export/ONNX/TorchScript deprecation chatter\n"
        "logging.getLogger('torch.onnx').setLevel(logging.ERROR)  # 'torchvision is not installed' notes\n"
        "import torchlayers as tl\nfrom examples.ewt import describe_corpus, load_split, featurize, tag_ids\n"
        "from examples.tagger import build_tagger, make_batches, torch_face_step\n"
        "print(describe_corpus())\n"
        "train, dev = load_split('train'), load_split('dev')\n"
        "if SMALL:\n    train, dev = train[:300], dev[:120]\n"
        "train_b = make_batches(featurize(train), tag_ids(train), 1000)\n"
        "dev_b = make_batches(featurize(dev), tag_ids(dev), 600)[:2]\n"
        "model = build_tagger(tl)\nmodel.initialize(X=train_b[0][0])\n"
        "opt = torch.optim.Adam(model.parameters(), lr=1e-3)\n"
        "for X, y in train_b:  # one epoch: enough for the tags to differ from a constant\n"
        "    torch_face_step(model, model, opt, X, y)\n"
        "model.eval()\n"
        "batches = [X for X, _ in dev_b]\n"
        "with torch.no_grad():\n    eager = [model(X).data for X in batches]\n"
        "print('dev batches (words, sentences):', [(int(X.lengths.sum()), len(X.lengths)) for X in batches])",
        "<md> **torch.compile**, `fullgraph=True, dynamic=True`: one graph for both batch sizes.",
        "from torch._dynamo.testing import CompileCounterWithBackend\n"
        "counter = CompileCounterWithBackend('inductor')\n"
        "compiled = torch.compile(model, fullgraph=True, dynamic=True, backend=counter)\n"
        "outputs = {'torch.compile': []}\n"
        "with torch.no_grad():\n"
        "    for X in batches:\n"
        "        outputs['torch.compile'].append(compiled(X).data)\n"
        "        print(f'batch of {len(X.lengths)} sentences: {counter.frame_count} compilations so far')",
        "<md> **torch.export**: `tl.deploy.export` exports with dynamic N and B, `torch.export.save` writes a `.pt2` "
        "file, `torch.export.load` reads it back (with torchlayers imported: the program calls its ops). With "
        "`decompose=True` the ops are traced into ATen and the program takes and returns plain tensors: it loads "
        "in a process without torchlayers (`tests/test_deployment_matrix.py` checks that in a fresh process).",
        "from torchlayers.deploy.decompose import custom_ops_in\n"
        "folder = tempfile.mkdtemp()\n"
        "torch.export.save(tl.deploy.export(model, batches[0]), os.path.join(folder, 'tagger.pt2'))\n"
        "torch.export.save(tl.deploy.export(model, batches[0], decompose=True),\n"
        "                  os.path.join(folder, 'tagger.aten.pt2'))\n"
        "program = torch.export.load(os.path.join(folder, 'tagger.pt2'))\n"
        "aten = torch.export.load(os.path.join(folder, 'tagger.aten.pt2'))\n"
        "print('custom ops in the program:', custom_ops_in(program))\nprint('custom ops after decompose:', "
        "custom_ops_in(aten))\n"
        "with torch.no_grad():\n"
        "    outputs['torch.export (saved, loaded)'] = [program.module()(X).data for X in batches]\n"
        "    outputs['torch.export decompose=True'] = [aten.module()(X.data, X.lengths)[0] for X in batches]",
        "<md> **ONNX**: `tl.deploy.onnx_export` is `torch.onnx.export(dynamo=True)` with our translations of the "
        "custom ops (HashEmbed's MurmurHash3 bit-exact on uint64); the Ragged input becomes two ONNX inputs with "
        "dynamic axes.",
        "import onnxruntime\nfrom torch.export import Dim\n"
        "path = os.path.join(folder, 'tagger.onnx')\n"
        "tl.deploy.onnx_export(model, (batches[0],), path, dynamic_shapes=(tl.Ragged({0: Dim.DYNAMIC, 1: Dim.STATIC}, "
        "{0: Dim.DYNAMIC}),), verbose=False)\n"
        "session = onnxruntime.InferenceSession(path, providers=['CPUExecutionProvider'])\n"
        "names = [i.name for i in session.get_inputs()]\n"
        "print({i.name: i.shape for i in session.get_inputs()})\n"
        "outputs['ONNX (onnxruntime)'] = [torch.from_numpy(session.run(None, {names[0]: X.data.numpy(), "
        "names[1]: X.lengths.numpy()})[0]) for X in batches]",
        "<md> **TorchScript** (deprecated in torch): `torch.jit.script` types every layer's forward as Tensor, so "
        "it cannot take the tagger's Ragged through its `with_array` wrappers; `tl.deploy.script(model, example)` "
        "scripts a copy whose layers are typed for what the example passes them, and checks it against eager. "
        "Saved with `torch.jit.save`, it loads with `torch.jit.load` (importing `torchlayers.kernels` for the "
        "HashEmbed op). A Ragged comes back as TorchScript's named tuple: `.data` is the same field.",
        "scripted = tl.deploy.script(model, batches[0])\n"
        "path = os.path.join(folder, 'tagger.torchscript.pt')\n"
        "torch.jit.save(scripted, path)\n"
        "loaded = torch.jit.load(path)\n"
        "with torch.no_grad():\n"
        "    outputs['TorchScript (saved, loaded)'] = [loaded(X).data for X in batches]",
        "<md> The outputs agree: max |form - eager| over each batch, and whether the predicted tags equal "
        "eager's.",
        "header = ' '.join(f'{\"batch \" + str(i) + \" max|diff|\":>20s}' for i in range(len(batches)))\n"
        "print(f\"{'form':32s} {header}  tags equal\")\n"
        "for form, outs in outputs.items():\n"
        "    diffs = [float((o - e).abs().max()) for o, e in zip(outs, eager)]\n"
        "    same = all(torch.equal(o.argmax(1), e.argmax(1)) for o, e in zip(outs, eager))\n"
        "    print(f'{form:32s} ' + ' '.join(f'{d:20.2e}' for d in diffs) + f'  {same}')\n"
        "    assert same and max(diffs) < 1e-5, form",
    )


@notebook("01_tagger_ewt.ipynb")
def tagger():
    return cells(
        "<md> # 01 · A spaCy-style part-of-speech tagger on UD English-EWT\n\nHashed NORM/PREFIX/SUFFIX/SHAPE "
        "embeddings, "
        "a Maxout mixer, 4 residual window-1 Maxout CNN blocks and a Softmax over 17 UPOS tags — built with the same "
        "code in "
        "torchlayers and in thinc (`examples/tagger.py::build_tagger`). The corpus (CC BY-SA 4.0) is read from "
        "`$TORCHLAYERS_EWT`, else `../shared/data/ud-english-ewt` when present, else the excerpt shipped in "
        "`examples/data/ud-english-ewt` (600/200/200 sentences), so the notebook runs on any clone; the cell below "
        "prints which.",
        SETUP,
        "import thinc.api as ta\nimport torchlayers as tl\nfrom examples.ewt import describe_corpus, load_split, "
        "featurize, tag_ids, UPOS\n"
        "from examples.tagger import build_tagger, make_batches, to_thinc_ragged, torch_face_step, thinc_step, "
        "accuracy\n"
        "print(describe_corpus())\n"
        "train, dev = load_split('train'), load_split('dev')\n"
        "if SMALL:\n    train, dev = train[:400], dev[:200]\n"
        "train_b = make_batches(featurize(train), tag_ids(train), 1000)\n"
        "dev_b = make_batches(featurize(dev), tag_ids(dev), 4000)\n"
        "print(len(train), 'train sentences,', sum(len(y) for _, y in train_b), 'words')",
        "<md> The thinc model is built and initialized first; `from_thinc` gives the torchlayers model the same tree "
        "and weights.",
        "theirs = build_tagger(ta)\ntheirs.initialize(X=to_thinc_ragged(train_b[0][0]))\n"
        "model = tl.from_thinc(theirs)\nprint(model.name[:120], '...')\n"
        "X = dev_b[0][0]\n"
        "print('max |torchlayers - thinc| on dev:', float((model.predict(X).data - "
        "torch.from_numpy(theirs.predict(to_thinc_ragged(X)).data)).abs().max()))",
        "<md> Train both side by side on the same batches: torchlayers through a plain PyTorch loop, thinc through "
        "its own. After every epoch (and once before training) both are scored on dev: the mean negative "
        "log-likelihood of the gold tags and the UPOS accuracy. Both run on one thread (thinc's NumpyOps is "
        "single-threaded); words per second from a small run on a shared machine are noisy: the measured figures "
        "are in notebook 03 and `benchmarks/results/`.",
        "import time\nepochs = 2 if SMALL else 5\ntorch.set_num_threads(1)\n"
        "opt, thinc_opt = torch.optim.Adam(model.parameters(), lr=1e-3), ta.Adam(1e-3)\n"
        "n_words = sum(len(y) for _, y in train_b)\n\n"
        "def dev_scores(predict):\n"
        "    \"\"\"(mean dev NLL, dev UPOS accuracy) of a function from a batch to tag probabilities.\"\"\"\n"
        "    nll = n = 0.0\n"
        "    for X, y in dev_b:\n"
        "        probs = torch.as_tensor(numpy.asarray(predict(X)))\n"
        "        nll += float(-probs.clamp_min(1e-9).log()[torch.arange(len(y)), y].sum()); n += len(y)\n"
        "    return nll / n, accuracy(predict, dev_b)\n\n"
        "ours_predict = lambda X: model.predict(X).data\n"
        "thinc_predict = lambda X: theirs.predict(to_thinc_ragged(X)).data\n"
        "curves = {'torchlayers': [dev_scores(ours_predict)], 'thinc': [dev_scores(thinc_predict)]}\n"
        "for epoch in range(epochs):\n"
        "    start = time.perf_counter()\n"
        "    model.train()\n"
        "    for X, y in train_b:\n        torch_face_step(model, model, opt, X, y)\n"
        "    ours_s = time.perf_counter() - start\n"
        "    start = time.perf_counter()\n"
        "    for X, y in train_b:\n        thinc_step(theirs, thinc_opt, to_thinc_ragged(X), y.numpy())\n"
        "    thinc_s = time.perf_counter() - start\n"
        "    curves['torchlayers'].append(dev_scores(ours_predict))\n"
        "    curves['thinc'].append(dev_scores(thinc_predict))\n"
        "    (ours_loss, ours_acc), (thinc_loss, thinc_acc) = curves['torchlayers'][-1], curves['thinc'][-1]\n"
        "    print(f'epoch {epoch + 1}: dev UPOS torchlayers {ours_acc:.4f} (loss {ours_loss:.3f}, "
        "{n_words / ours_s:,.0f} w/s) | thinc {thinc_acc:.4f} (loss {thinc_loss:.3f}, {n_words / thinc_s:,.0f} w/s)')",
        PLOT_CURVES.format(title="tagger, dev", metric="UPOS accuracy"),
        "<md> Save and reload bitwise.",
        "import tempfile, os\npath = os.path.join(tempfile.mkdtemp(), 'tagger.safetensors')\nmodel.to_disk(path)\n"
        "reloaded = build_tagger(tl).from_disk(path)\nX = dev_b[0][0]\n"
        "assert torch.equal(reloaded.predict(X).data, model.predict(X).data)\nprint('reloaded bitwise from', "
        "os.path.getsize(path), 'bytes')",
    )


@notebook("02_textcat_ewt.ipynb")
def textcat():
    return cells(
        "<md> # 02 · Text classification: the genre of EWT sentences\n\nEach UD English-EWT sentence comes from one "
        "of five genres "
        "(weblog, newsgroup, email, answers, reviews: the prefix of its `sent_id`). Two models and their ensemble, "
        "built with the "
        "same code in torchlayers and in thinc (`examples/textcat.py`): a `SparseLinear` bag of unigram+bigram "
        "hashes, and the "
        "tagger's CNN tok2vec pooled by `reduce_mean` into a `Softmax`.",
        SETUP,
        "import thinc.api as ta\nimport torch.nn.functional as F\nimport torchlayers as tl\n"
        "from examples.ewt import describe_corpus, load_split, GENRES\n"
        "from examples.textcat import build_bow, build_cnn, batches, subset, thinc_bow_input, thinc_cnn_input, "
        "evaluate\n"
        "print(describe_corpus())  # $TORCHLAYERS_EWT, ../shared/data/ud-english-ewt, or the bundled excerpt\n"
        "train, dev = load_split('train'), load_split('dev')\n"
        "if SMALL:  # a random subset: the corpus files are grouped by genre\n    train, dev = subset(train, 400, 0), "
        "subset(dev, 200, 1)\n"
        "train_b, dev_b = batches(train, 64, 0), batches(dev, 256, 1)\n"
        "print(len(train), 'train sentences;', len(GENRES), 'genres:', GENRES)",
        "<md> Build both models in thinc, initialize, and convert: the torchlayers models start from the same weights.",
        "Y0 = numpy.zeros((1, len(GENRES)), dtype='f')\n"
        "thinc_bow, thinc_cnn = build_bow(ta), build_cnn(ta)\n"
        "thinc_bow.initialize(X=thinc_bow_input(train_b[0][0]), "
        "Y=Y0)\nthinc_cnn.initialize(X=thinc_cnn_input(train_b[0][1]), Y=Y0)\n"
        "bow, cnn = tl.from_thinc(thinc_bow), tl.from_thinc(thinc_cnn)\n"
        "bow_X, cnn_X, y = dev_b[0]\n"
        "print('bow max diff', float((bow.predict(bow_X) - "
        "torch.from_numpy(thinc_bow.predict(thinc_bow_input(bow_X)))).abs().max()))\n"
        "print('cnn max diff', float((cnn.predict(cnn_X) - "
        "torch.from_numpy(thinc_cnn.predict(thinc_cnn_input(cnn_X)))).abs().max()))",
        "<md> Train torchlayers in a plain PyTorch loop and thinc in its own, on the same batches in the same order. "
        "After every epoch (and once before training) both are scored on dev: accuracy of each model, and the "
        "ensemble's mean negative log-likelihood (the average of the two models' probabilities).",
        "epochs = 2 if SMALL else 3\n"
        "opt = torch.optim.Adam(list(bow.parameters()) + list(cnn.parameters()), lr=1e-3)\nopt_t = ta.Adam(1e-3)\n"
        "eye = numpy.eye(len(GENRES), dtype='f')\n\n"
        "def dev_scores(predict_bow, predict_cnn):\n"
        "    \"\"\"(the ensemble's mean dev NLL, {model: dev accuracy}).\"\"\"\n"
        "    nll = n = 0.0\n"
        "    for bow_X, cnn_X, y in dev_b:\n"
        "        p_bow = torch.softmax(torch.as_tensor(numpy.asarray(predict_bow(bow_X))), -1)\n"
        "        p = (p_bow + torch.as_tensor(numpy.asarray(predict_cnn(cnn_X)))) / 2\n"
        "        nll += float(-p.clamp_min(1e-9).log()[torch.arange(len(y)), y].sum()); n += len(y)\n"
        "    return nll / n, evaluate(predict_bow, predict_cnn, dev_b)\n\n"
        "ours_fns = (bow.predict, cnn.predict)\n"
        "thinc_fns = (lambda X: thinc_bow.predict(thinc_bow_input(X)),\n"
        "             lambda X: thinc_cnn.predict(thinc_cnn_input(X)))\n"
        "scores = {'torchlayers': [dev_scores(*ours_fns)], 'thinc': [dev_scores(*thinc_fns)]}\n"
        "for epoch in range(epochs):\n"
        "    bow.train(); cnn.train()\n"
        "    for bow_X, cnn_X, y in train_b:\n"
        "        loss = F.cross_entropy(bow(bow_X), y) + F.nll_loss(cnn(cnn_X).clamp_min(1e-9).log(), y)\n"
        "        opt.zero_grad(); loss.backward(); opt.step()\n"
        "        truth = eye[y.numpy()]\n"
        "        logits, bp = thinc_bow(thinc_bow_input(bow_X), is_train=True)\n"
        "        bp((ta.get_current_ops().softmax(logits) - truth) / len(y))\n"
        "        probs, bp = thinc_cnn(thinc_cnn_input(cnn_X), is_train=True)\n"
        "        bp((probs - truth) / len(y))\n"
        "        thinc_bow.finish_update(opt_t); thinc_cnn.finish_update(opt_t)\n"
        "    scores['torchlayers'].append(dev_scores(*ours_fns))\n"
        "    scores['thinc'].append(dev_scores(*thinc_fns))\n"
        "    print(f'epoch {epoch + 1}: torchlayers', "
        "{k: round(v, 3) for k, v in scores['torchlayers'][-1][1].items()}, "
        "'| thinc', {k: round(v, 3) for k, v in scores['thinc'][-1][1].items()})\n"
        "curves = {impl: [(loss, acc['ensemble']) for loss, acc in points] for impl, points in scores.items()}",
        PLOT_CURVES.format(title="genre ensemble, dev", metric="accuracy"),
        "<md> The bag-of-words model exports like any tensor model: its input is the `(keys, values, lengths)` tuple.",
        "exported = torch.export.export(bow.eval(), (dev_b[0][0],))\n"
        "torch.testing.assert_close(exported.module()(dev_b[0][0]), bow.predict(dev_b[0][0]))\nprint('exported "
        "SparseLinear OK')",
    )


@notebook("03_kernels_and_benchmarks.ipynb")
def kernels():
    return cells(
        "<md> # 03 · Kernels and benchmarks\n\nHashEmbed, SparseLinear and the ragged reductions run on our own "
        "Triton kernels on GPU "
        "and on tuned torch code on CPU, all behind `torch.library` ops. This notebook checks the ops against their "
        "references "
        "and plots the recorded benchmark JSON (`benchmarks/results/*.json`) against thinc and torch-native peers.",
        SETUP,
        "%matplotlib inline\nimport json, glob\nimport matplotlib.pyplot as plt\n"
        "results = {os.path.basename(p): json.load(open(p)) for p in "
        "sorted(glob.glob('../benchmarks/results/*.json'))}\n"
        "for name, data in results.items():\n"
        "    meta = data.get('meta', data.get('versions', {}))\n"
        "    what = f\"{len(data['rows'])} rows\" if 'rows' in data else data.get('command', '')\n"
        "    print(f\"{name}: {what}; torch {meta.get('torch', '?')}\")",
        "from torchlayers import HashEmbed\nids = torch.randint(0, 2**40, (1000,))\nlayer = HashEmbed(96, 5000, "
        "seed=8)\n"
        "print(torch.ops.torchlayers.hash_embed)\nY = layer(ids)\nprint(Y.shape, Y.dtype)",
        "<md> ## End to end: the EWT tagger\nWords per second through training and prediction, thinc 8.3.14 (NumpyOps) "
        "and a plain-PyTorch tagger of the same architecture against torchlayers eager, through the Thinc face and "
        "compiled, at two threads "
        "(`benchmarks/bench_tagger.py`, same weights and batches, CPU).",
        "tagger = [r for r in results['tagger_cpu.json']['rows'] if r.get('threads', 2) == 2]  # the 2-thread run\n"
        "impls = list(dict.fromkeys(r['impl'] for r in tagger))\n"
        "sizes = sorted({r['words_per_batch'] for r in tagger})\n"
        "fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))\n"
        "for ax, key in zip(axes, ('train_words_per_s', 'predict_words_per_s')):\n"
        "    width = 0.8 / len(impls)\n"
        "    for i, impl in enumerate(impls):\n"
        "        vals = [next((r[key] for r in tagger if r['impl'] == impl and r['words_per_batch'] == s), 0) "
        "for s in sizes]\n"
        "        ax.bar([j + i * width for j in range(len(sizes))], vals, width=width, label=impl)\n"
        "    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(sizes))],\n"
        "                  [f'{s // 1000}k words/batch' for s in sizes])\n"
        "    ax.set(ylabel=key.replace('_', ' '), title=key.split('_')[0]); ax.grid(axis='y', alpha=0.3)\n"
        "axes[0].legend(fontsize=8)\nfig.tight_layout()\nplt.show()",
        "<md> ## Layers and ops against thinc\nSpeed-up = thinc's time / ours for the same forward + backward (or the "
        "one pass named), per size; 1 is parity, right of the line is faster. Where a benchmark has the layer's "
        "own eager CPU path (`torchlayers_layer`, what calling the layer runs on CPU) that row is used, else the op.",
        "ops = []\n"
        "for name in ('dense_layers_cpu.json', 'lstm_cpu.json', 'hash_embed_cpu.json', 'sparse_linear_cpu.json', "
        "'ragged_reduce_cpu.json'):\n"
        "    rows = results.get(name, {}).get('rows', [])\n"
        "    for key in dict.fromkeys((r.get('op') or r.get('layer'), r['size']) for r in rows):\n"
        "        ms = {r['impl']: r['ms'] for r in rows if (r.get('op') or r.get('layer'), r['size']) == key}\n"
        "        ours = ms.get('torchlayers_layer', ms.get('torchlayers'))\n"
        "        if 'thinc' in ms and ours:\n"
        "            ops.append((f'{key[0]} ({key[1]})', ms['thinc'] / ours))\n"
        "fig, ax = plt.subplots(figsize=(7, 0.22 * len(ops) + 1))\n"
        "ax.barh([n for n, _ in ops], [r for _, r in ops],\n"
        "        color=['tab:green' if r >= 1 else 'tab:red' for _, r in ops])\n"
        "ax.axvline(1, color='k', lw=0.8); ax.set_xscale('log'); ax.invert_yaxis()\n"
        "ax.set(xlabel='speed-up over thinc (thinc ms / torchlayers ms, log scale)', title='CPU, 1 thread')\n"
        "ax.tick_params(axis='y', labelsize=7); fig.tight_layout()\nplt.show()",
        "<md> ## Accuracy on the full treebank\nDev UPOS per epoch from identical initial weights "
        "(`python -m examples.tagger --epochs 6 --with-thinc`, recorded in `tagger_ewt_accuracy_cpu.json`).",
        "run = results['tagger_ewt_accuracy_cpu.json']\n"
        "fig, ax = plt.subplots(figsize=(5, 3))\n"
        "for impl, points in run['per_epoch_dev'].items():\n"
        "    ax.plot(range(1, len(points) + 1), points, marker='o', label=impl)\n"
        "ax.set(xlabel='epoch', ylabel='dev UPOS accuracy',\n"
        "       title=f\"EWT tagger, {run['train_words']:,} train words\")\n"
        "ax.grid(alpha=0.3); ax.legend(); fig.tight_layout()\nplt.show()",
    )


@notebook("05_interop.ipynb")
def interop():
    return cells(
        "<md> # 05 · Interop: TensorFlow and MXNet inside torch models, and loading Thinc models\n\nForeign models "
        "become torch "
        "modules: DLPack moves tensors without copies, a custom autograd function runs the foreign framework's own "
        "gradient, and "
        "the foreign weights are torch parameters (so torch optimizers and `to_bytes` see them).",
        SETUP,
        "import torchlayers as tl\nfrom torchlayers.interop.tensorflow_wrapper import import_tensorflow\n"
        "tf = import_tensorflow()  # imports triton first: triton after TF crashes LLVM\n"
        "keras_model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(3)])\n"
        "wrapped = tl.TensorFlowWrapper(keras_model)\nX = torch.randn(5, 4)\n"
        "torch.testing.assert_close(wrapped(X), torch.from_numpy(keras_model(X.numpy()).numpy()))\n"
        "print([name for name, _ in wrapped.named_parameters()])",
        "opt = torch.optim.SGD(wrapped.parameters(), lr=0.1)\nbefore = keras_model.layers[0].kernel.numpy().copy()\n"
        "for _ in range(3):\n    loss = wrapped(X).pow(2).mean()\n    opt.zero_grad(); loss.backward(); opt.step()\n"
        "after = wrapped.tensorflow_model.layers[0].kernel.numpy()\nprint('keras kernel changed:', not "
        "numpy.allclose(before, after))",
        "<md> ## Loading a Thinc model\n`from_thinc` rebuilds the node tree from torchlayers layers and copies the "
        "weights; "
        "`to_thinc` goes back. The converted model compiles and exports.",
        "import thinc.api as ta\nX = numpy.random.uniform(-1, 1, (8, 6)).astype('f')\n"
        "theirs = ta.chain(ta.Relu(16, 6), ta.Maxout(8, nP=3), ta.Softmax(4)).initialize(X=X)\n"
        "ours = tl.from_thinc(theirs)\nprint(ours.name)\n"
        "print('max diff', float(numpy.abs(ours.predict(X) - theirs.predict(X)).max()))\n"
        "exported = torch.export.export(ours.eval(), (torch.from_numpy(X),))\nprint('exported:', "
        "type(exported).__name__)\n"
        "back = tl.to_thinc(ours)\nprint('round trip equal:', all((a.get_param(p) == b.get_param(p)).all() for a, b "
        "in zip(theirs.walk(), back.walk()) for p in a.param_names))",
    )


@notebook("06_spacy_to_torch.ipynb")
def spacy_to_torch():
    return cells(
        "<md> # 06 · spaCy to torch: a pipeline's tagger as a torch module\n\n"
        "`torchlayers.interop.from_spacy(nlp, component)` converts a spaCy 3.8 component's model: the tok2vec "
        "listener is replaced by the upstream `tok2vec` it listens to, every node becomes a torchlayers layer, and "
        "the nodes reading Docs (`extract_features`: `doc.to_array([NORM, PREFIX, SUFFIX, SHAPE])`) become the "
        "*featurizer*. The rest is a plain torch module: it trains in a torch loop, compiles and exports. "
        "`to_spacy` writes a module back, so `nlp(text)` and `nlp.to_disk` use it.",
        SETUP,
        "<md> ## A small pipeline from spaCy's default config\nWhat `spacy init config -p tagger,morphologizer,"
        "senter -o efficiency` writes, trained a few epochs on UD English-EWT (use `spacy.load(path)` for a "
        "pipeline of your own).",
        "import random, spacy\nfrom spacy.cli.init_config import init_config\nfrom spacy.tokens import Doc\n"
        "from spacy.training import Example\nfrom examples import ewt\n"
        "spacy.util.fix_random_seed(0)\n"
        "config = init_config(lang='en', pipeline=['tagger', 'morphologizer', 'senter'], optimize='efficiency')\n"
        "nlp = spacy.util.load_model_from_config(config, auto_fill=True)\n"
        "sentences = ewt.load_split('train')[:300 if SMALL else 3000]\n"
        "def example(group):\n"
        "    words = [w for s in group for w in s.words]; tags = [t for s in group for t in s.tags]\n"
        "    starts = [j == 0 for s in group for j in range(len(s.words))]\n"
        "    return Example(Doc(nlp.vocab, words=words), Doc(nlp.vocab, words=words, tags=tags, pos=tags, "
        "sent_starts=starts))\n"
        "examples = [example(sentences[i:i + 3]) for i in range(0, len(sentences), 3)]\n"
        "optimizer = nlp.initialize(lambda: examples)\n"
        "for epoch in range(2 if SMALL else 4):\n"
        "    random.shuffle(examples); losses = {}\n"
        "    for i in range(0, len(examples), 16):\n"
        "        nlp.update(examples[i:i + 16], sgd=optimizer, losses=losses)\n"
        "    print(epoch, {k: round(v, 1) for k, v in losses.items()})\n"
        "print(nlp.pipe_names)",
        "<md> ## Convert the tagger",
        "from torchlayers.interop import from_spacy, to_spacy\n"
        "tagger = from_spacy(nlp, 'tagger')\n"
        "print('architecture:', tagger.architecture, '| listeners spliced:', tagger.listeners)\n"
        "print('featurizer:', tagger.featurizer, '| labels:', tagger.labels[:6], '...')\n"
        "print('module:', type(tagger.module).__name__, sum(p.numel() for p in tagger.module.parameters()), "
        "'parameters')",
        "<md> The converted tagger predicts what `nlp(text)` annotates, token by token, on held-out text:",
        "dev = ewt.load_split('dev')[:60]\n"
        "texts = [' '.join(w for s in dev[i:i + 3] for w in s.words) for i in range(0, len(dev), 3)]\n"
        "docs = list(nlp.pipe(texts))\n"
        "with torch.no_grad():\n    scores = tagger(docs)  # module(featurizer(docs))\n"
        "ours = [tagger.labels[i] for i in torch.cat(scores).argmax(1).tolist()]\n"
        "theirs = [t.tag_ for d in docs for t in d]\n"
        "print(f'agreement with nlp(text): {sum(a == b for a, b in zip(ours, theirs))}/{len(theirs)} tokens')",
        "<md> ## Tag text with the exported program\n`tagger.export(docs)` is `torch.export` of the module's "
        "Ragged form (`torchlayers.deploy.ragged_form`): the number of tokens and of docs are dynamic, the program "
        "takes the featurizer's ids packed as one `Ragged`.",
        "program = tagger.export(docs[:4])\n"
        "doc = nlp.make_doc('The old man the boats. Time flies like an arrow, and fruit flies like a banana.')\n"
        "Y = program.module()(tagger.ragged_features([doc, nlp.make_doc('I saw her duck.')]))\n"
        "tags = [tagger.labels[i] for i in Y.data.argmax(1).tolist()]\n"
        "print(' '.join(f'{t.text}/{tag}' for t, tag in zip(doc, tags)))",
        "<md> ## Train in torch, write back into spaCy\nA few Adam steps on the tagger's module (its tok2vec "
        "included); `to_spacy` writes it back. The tok2vec weights changed, so the tagger gets its own copy "
        "(`nlp.replace_listeners`) and the morphologizer keeps the shared one.",
        "index = {label: i for i, label in enumerate(tagger.labels)}\n"
        "features = tagger.featurizer([ex.predicted for ex in examples[:40]])\n"
        "gold = torch.tensor([index[t.tag_] for ex in examples[:40] for t in ex.reference])\n"
        "module = tagger.module.train()\noptimizer = torch.optim.Adam(module.parameters(), lr=1e-3)\n"
        "for step in range(5):\n"
        "    loss = torch.nn.functional.nll_loss(torch.log(torch.cat(module(features)) + 1e-8), gold)\n"
        "    optimizer.zero_grad(); loss.backward(); optimizer.step()\n"
        "    print(step, round(loss.item(), 4))\n"
        "module.eval()\nto_spacy(nlp, 'tagger', module)\n"
        "import tempfile\nwith tempfile.TemporaryDirectory() as path:\n"
        "    nlp.to_disk(path)\n    reloaded = spacy.load(path)\n"
        "    print([(t.text, t.tag_) for t in reloaded('Time flies like an arrow.')])\n"
        "    with torch.no_grad():\n"
        "        same = [tagger.labels[i] for i in torch.cat(module(tagger.featurizer([nlp.make_doc('Time flies "
        "like an arrow.')]))).argmax(1).tolist()]\n"
        "    print('spacy.load tags with the torch-trained module:', same == [t.tag_ for t in reloaded('Time flies "
        "like an arrow.')])",
    )


KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def build(name: str) -> nbformat.NotebookNode:
    """The notebook ``name`` from its cell sources, not executed (stable cell ids)."""
    nb_cells = NOTEBOOKS[name]()
    for i, cell in enumerate(nb_cells):  # stable ids: regenerating leaves unchanged sources unchanged
        cell["id"] = f"{name[:2]}-{i:02d}"
    return new_notebook(cells=nb_cells, metadata={"kernelspec": KERNELSPEC})


# The stored outputs read the bundled EWT excerpt (a path relative to notebooks/), so any clone reproduces them.
STORED_ENV = {"TORCHLAYERS_EWT": "../examples/data/ud-english-ewt"}


def execute(nb: nbformat.NotebookNode, timeout: int = 900) -> nbformat.NotebookNode:
    """Run ``nb`` top to bottom in small mode (``TORCHLAYERS_SMALL=1``) from notebooks/, on the bundled EWT
    excerpt, in place; a cell that raises stops the run with nbclient's CellExecutionError."""
    import nbclient

    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                                     resources={"metadata": {"path": str(HERE)}})
    client.execute(env={**os.environ, "TORCHLAYERS_SMALL": "1", **STORED_ENV})
    return nb


def main(argv: list) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*",
                        help="notebooks to write (default: all), e.g. 03_kernels_and_benchmarks.ipynb")
    parser.add_argument("--no-execute", action="store_true",
                        help="write the sources without outputs (the committed notebooks are executed)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(NOTEBOOKS))
    if unknown:
        parser.error(f"unknown notebooks {unknown}; known: {sorted(NOTEBOOKS)}")
    for name in args.names or NOTEBOOKS:
        nb = build(name)
        if not args.no_execute:
            start = time.perf_counter()
            execute(nb)
            print(f"executed {name} in {time.perf_counter() - start:.0f} s")
        nbformat.write(nb, HERE / name)
        print("wrote", name)


if __name__ == "__main__":
    main(sys.argv[1:])
